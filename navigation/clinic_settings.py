"""Per-clinic defaults, kept in ``clinic.json`` in the user's configuration folder.

What a clinic sets once and every navigator should share (docs/settings.md): the on-target
tolerance, the coil model, tracker / stimulator / pulse-source ports, the clinic database URL
(never its password: :mod:`tmsnav.navigation.records.credentials`), where session folders go, the
unit distances are shown in, sound cues, and whether reports print the patient's identity.
Inside, distances are mm and angles radians; degrees and cm exist only at the UI.

The file (``platformdirs.user_config_dir("tmsnav")``: ``~/.config/tmsnav`` on Linux,
``%LOCALAPPDATA%\\tmsnav`` on Windows, ``~/Library/Application Support/tmsnav`` on macOS; the
``TMSNAV_CONFIG_DIR`` variable or the ``folder`` argument overrides it) is written atomically
(:func:`tmsnav.navigation.session.atomic.atomic_write_json`) and carries a ``format_version``:

* a file from a newer tmsnav: what this version knows is read, the rest is kept, a message says
  so, and :func:`save_settings` refuses to replace it unless asked (``replace_newer=True``, after
  the user agreed);
* a damaged file (not JSON, not an object, no ``format_version``): the defaults are used, the
  message says why, and the window (at start) renames the file ``clinic.damaged-<UTC time>.json``
  beside it so a hand-made configuration is never lost (a quiet :func:`load_settings`, e.g. by
  the records, leaves it in place: else the window would find nothing to warn about);
* one bad value (a negative tolerance, an unknown unit): that value falls back to its default
  with a message naming it; the other values are kept.

Layering: ``navigation`` never imports ``hardware``, so device kinds are checked against the
drivers' lists by the app (:mod:`tmsnav.app.preferences_apply`), not here.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Mapping

from .errors import NavigationError
from .guidance import Tolerance
from .records.db_url import DatabaseUrlError, parse_database_url
from .session.atomic import SaveError, atomic_write_json
from .treatment.pulse_log import navigate_tolerance

__all__ = ["ClinicSettings", "LoadedSettings", "SettingsError", "NewerSettingsFileError",
           "FORMAT_VERSION", "SETTINGS_FILE", "ENV_CONFIG_DIR", "DISTANCE_UNITS",
           "TOLERANCE_MM_RANGE", "TOLERANCE_DEG_RANGE", "config_dir", "settings_path",
           "load_settings", "read_settings", "save_settings", "file_format_version",
           "format_distance"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
SETTINGS_FILE = "clinic.json"
ENV_CONFIG_DIR = "TMSNAV_CONFIG_DIR"
#: mm per displayed unit; only distances change unit (angles are always shown in degrees).
DISTANCE_UNITS = {"mm": 1.0, "cm": 10.0}
#: The Navigate tab's boxes accept these; a value outside would be clamped there without a word.
TOLERANCE_MM_RANGE = (0.5, 20.0)
TOLERANCE_DEG_RANGE = (1.0, 45.0)


def format_distance(mm: float, unit: str = "mm", *, signed: bool = False) -> str:
    """``mm`` shown in ``unit`` WITH the unit ("3.2 mm", "0.32 cm": 0.1 mm resolution in both),
    so a number can never be read in the other unit. An unknown unit falls back to mm."""
    if unit not in DISTANCE_UNITS:
        unit = "mm"
    scale = DISTANCE_UNITS[unit]
    digits = 1 if scale == 1.0 else 2
    sign = "+" if signed else ""
    return f"{mm / scale:{sign}.{digits}f} {unit}"


class SettingsError(NavigationError):
    """Settings that cannot be used or saved; the message names the setting and the fix."""


class NewerSettingsFileError(SettingsError):
    """Saving would replace a clinic.json written by a newer tmsnav; ask the user first."""


def _number(value: object) -> bool:
    """A real number (``True`` is an ``int`` in Python, but never a tolerance)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_absolute(path: str) -> bool:
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()


@dataclass(frozen=True)
class ClinicSettings:
    """One clinic's defaults. Empty text means "the app's own default" (see each field)."""

    tolerance_mm: float = 3.0                          # on target within (in-plane distance)
    tolerance_angle_rad: float = float(math.radians(5.0))   # and within this tilt
    coil_model_id: str = "generic-fig8-70"             # a model_id of assets/coils/*.json
    tracker_kind: str = "sim"                          # hardware.config.KINDS key
    tracker_port: str = ""                             # "" = the Tracker tab's first port
    stimulator_kind: str = "magventure"                # app.treatment.stimulator_box.MODELS key
    stimulator_port: str = ""
    pulse_source_kind: str = "ttl"                     # hardware.triggers.config.SOURCE_KINDS key
    pulse_source_detail: str = ""                      # e.g. /dev/ttyUSB0?byte=0x01
    database_url: str = ""                             # "" = the embedded SQLite file
    sessions_root: str = ""                            # "" = <user data folder>/sessions
    distance_unit: str = "mm"                          # "mm" | "cm" (display only)
    sounds: bool = True                                # on-target / tracking-lost beeps
    report_identity: bool = False                      # name, birth date, MRN in report headers
    #: keys of a newer file this version does not know: written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # ----- checks ---------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """Setting name -> what is wrong with it (empty when every value can be used)."""
        out: dict[str, str] = {}
        lo, hi = TOLERANCE_MM_RANGE
        if not (_number(self.tolerance_mm) and lo <= self.tolerance_mm <= hi):
            out["tolerance_mm"] = f"The distance tolerance must be {lo:g} to {hi:g} mm."
        lo, hi = TOLERANCE_DEG_RANGE
        if not (_number(self.tolerance_angle_rad)
                and math.radians(lo) - 1e-9 <= self.tolerance_angle_rad <= math.radians(hi) + 1e-9):
            out["tolerance_angle_rad"] = f"The angle tolerance must be {lo:g} to {hi:g} degrees."
        for name in ("coil_model_id", "tracker_kind", "tracker_port", "stimulator_kind",
                     "stimulator_port", "pulse_source_kind", "pulse_source_detail"):
            if not isinstance(getattr(self, name), str):
                out[name] = f"{name} must be text."
        try:
            parse_database_url(self.database_url if isinstance(self.database_url, str) else "?")
        except DatabaseUrlError as exc:
            out["database_url"] = str(exc)
        root = self.sessions_root
        if not isinstance(root, str):
            out["sessions_root"] = "The sessions folder must be a path."
        elif root.strip() and not _is_absolute(root.strip()):
            out["sessions_root"] = ("The sessions folder must be a full path (e.g. /data/tmsnav/"
                                    "sessions or D:\\tmsnav\\sessions), or empty for the default.")
        if self.distance_unit not in DISTANCE_UNITS:
            out["distance_unit"] = f"Distances are shown in {' or '.join(DISTANCE_UNITS)}."
        for name in ("sounds", "report_identity"):
            if not isinstance(getattr(self, name), bool):
                out[name] = f"{name} must be true or false."
        return out

    def checked(self) -> "ClinicSettings":
        """These settings with the database URL written canonically; SettingsError listing every
        problem otherwise (the dialog shows that message)."""
        problems = self.problems()
        if problems:
            raise SettingsError("\n".join(problems.values()))
        return replace(self, database_url=parse_database_url(self.database_url),
                       sessions_root=self.sessions_root.strip())

    # ----- derived values -------------------------------------------------------------------
    def tolerance(self) -> Tolerance:
        """The Navigate tab's tolerance for these two numbers (depth and twist follow them)."""
        return navigate_tolerance(float(self.tolerance_mm), float(self.tolerance_angle_rad))

    def database_url_or_default(self) -> str:
        """The URL to open: the clinic's, or the embedded SQLite file in the user data folder."""
        if self.database_url.strip():
            return parse_database_url(self.database_url)
        from .records.database import default_database_url

        return default_database_url()

    def sessions_root_or_default(self) -> Path:
        """Where new session folders go: the clinic's folder or ``<user data>/sessions``."""
        if self.sessions_root.strip():
            return Path(self.sessions_root.strip()).expanduser()
        from .records.today import default_sessions_root

        return default_sessions_root()

    def format_distance(self, mm: float, *, signed: bool = False) -> str:
        """``mm`` in the unit shown, with the unit: "3.2 mm" or "0.32 cm" (same resolution)."""
        return format_distance(mm, self.distance_unit, signed=signed)

    # ----- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "extra"}
        return {"format_version": FORMAT_VERSION, **d, **{k: v for k, v in self.extra.items()
                                                           if k not in d and k != "format_version"}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> tuple["ClinicSettings", list[str]]:
        """Settings from a parsed file, and a message for each value replaced by its default.

        Integers are accepted for floats (JSON writes 3.0 as 3 in some editors); ``bool`` is
        never taken for a number."""
        defaults = cls()
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        messages: list[str] = []
        for name in known:
            if name not in data:
                continue
            value = data[name]
            default = getattr(defaults, name)
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not type(default):
                messages.append(f"{SETTINGS_FILE}: {name} should be {type(default).__name__}, "
                                f"not {json.dumps(value)[:40]}; the default {default!r} is used.")
                continue
            values[name] = value
        extra = {k: v for k, v in data.items() if k not in known and k != "format_version"}
        settings = cls(**values, extra=extra)
        for name, problem in settings.problems().items():
            default = getattr(defaults, name)
            settings = replace(settings, **{name: default})
            shown = "the default" if isinstance(default, str) and not default else repr(default)
            messages.append(f"{SETTINGS_FILE}: {problem} Using {shown} instead.")
        return settings, messages

    # ----- file -----------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path | None = None) -> "ClinicSettings":
        """The settings in ``folder`` (default :func:`config_dir`); problems are logged. The GUI
        uses :func:`read_settings` to show them."""
        return load_settings(folder)

    def save(self, folder: str | Path | None = None, *, replace_newer: bool = False) -> Path:
        return save_settings(self, folder, replace_newer=replace_newer)


@dataclass(frozen=True)
class LoadedSettings:
    settings: ClinicSettings
    path: Path
    messages: tuple[str, ...] = ()
    newer_file: bool = False            # written by a newer tmsnav: ask before replacing it
    kept_aside: Path | None = None      # where a damaged file was moved
    exists: bool = False


def config_dir(folder: str | Path | None = None) -> Path:
    """``folder``, else ``$TMSNAV_CONFIG_DIR``, else the platform's user configuration folder."""
    if folder is not None:
        return Path(folder)
    override = os.environ.get(ENV_CONFIG_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tmsnav", appauthor=False))


def settings_path(folder: str | Path | None = None) -> Path:
    return config_dir(folder) / SETTINGS_FILE


def _keep_aside(path: Path) -> Path | None:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.damaged-{stamp}-{n}{path.suffix}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target


def _damaged(path: Path, why: str, keep_aside: bool) -> LoadedSettings:
    aside = _keep_aside(path) if keep_aside else None
    where = (f"The damaged file was kept as {aside.name} in the same folder." if aside is not None
             else "The damaged file could not be moved aside (read-only folder?); it was left as "
             "it is." if keep_aside else "The file was left as it is.")
    message = f"The clinic settings file {path} could not be read ({why}), so the default " \
              f"settings are used. {where} Open Edit > Preferences to check and save the settings."
    return LoadedSettings(ClinicSettings(), path, (message,), kept_aside=aside, exists=aside is None)


def load_settings(folder: str | Path | None = None) -> ClinicSettings:
    """The clinic settings to use (defaults when there is no file); problems are logged and a
    damaged file is left where it is, so that the window's own read (:func:`read_settings` with
    ``keep_aside=True``, which shows the message) still finds it, whoever read first."""
    loaded = read_settings(folder)
    for message in loaded.messages:
        log.warning("%s", message)
    return loaded.settings


def read_settings(folder: str | Path | None = None, *, keep_aside: bool = False) -> LoadedSettings:
    """Read ``clinic.json`` with what went wrong: the defaults without a message when there is
    none yet. ``keep_aside``: rename a damaged file ``clinic.damaged-<UTC>.json`` (the caller
    shows the message that says so; the Preferences controller does at start)."""
    path = settings_path(folder)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadedSettings(ClinicSettings(), path)
    except OSError as exc:
        message = (f"The clinic settings file {path} cannot be read ({exc.strerror}); the default "
                   "settings are used for now.")
        return LoadedSettings(ClinicSettings(), path, (message,), exists=True)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _damaged(path, "it is not UTF-8 text", keep_aside)
    except json.JSONDecodeError as exc:
        return _damaged(path, f"not valid JSON at line {exc.lineno}: {exc.msg}", keep_aside)
    if not isinstance(data, dict):
        return _damaged(path, "it holds no settings object", keep_aside)
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return _damaged(path, "it has no valid format_version, so it is not a tmsnav settings file",
                        keep_aside)
    settings, messages = ClinicSettings.from_dict(data)
    newer = version > FORMAT_VERSION
    if newer:
        messages.insert(0, f"The clinic settings file {path} was written by a newer tmsnav "
                           f"(format {version}; this version knows up to {FORMAT_VERSION}). The "
                           "settings this version knows are used; saving will ask before "
                           "replacing that file.")
    return LoadedSettings(settings, path, tuple(messages), newer_file=newer, exists=True)


def file_format_version(folder: str | Path | None = None) -> int | None:
    """The ``format_version`` of the file on disk now (None: no file or unreadable)."""
    try:
        data = json.loads(settings_path(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("format_version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def save_settings(settings: ClinicSettings, folder: str | Path | None = None, *,
                  replace_newer: bool = False) -> Path:
    """Write ``settings`` (checked first) atomically; the previous file survives any failure.

    NewerSettingsFileError when the file on disk now is from a newer tmsnav and
    ``replace_newer`` is False; SettingsError for an invalid value or a failed write."""
    checked = settings.checked()
    path = settings_path(folder)
    on_disk = file_format_version(folder)
    if on_disk is not None and on_disk > FORMAT_VERSION and not replace_newer:
        raise NewerSettingsFileError(
            f"{path} was written by a newer tmsnav (format {on_disk}). Saving would replace it "
            f"with this version's format {FORMAT_VERSION}; settings only the newer version knows "
            "are kept, but it may read them differently.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, checked.to_dict())
    except OSError as exc:
        raise SettingsError(f"Cannot create the settings folder {path.parent}: "
                            f"{exc.strerror}.") from None
    except SaveError as exc:
        raise SettingsError(str(exc)) from None
    log.info("clinic settings saved to %s", path)
    return path
