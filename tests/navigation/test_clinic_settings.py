"""Clinic settings file: round trip, defaults, newer and damaged files, refused values, units."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from tmsnav.navigation.clinic_settings import (DISTANCE_UNITS, ENV_CONFIG_DIR, FORMAT_VERSION,
                                               SETTINGS_FILE, ClinicSettings,
                                               NewerSettingsFileError, SettingsError, config_dir,
                                               load_settings, read_settings, save_settings,
                                               settings_path)
from tmsnav.navigation.records.db_url import (DatabaseUrlError, describe_database_url,
                                              parse_database_url, url_without_password)
from tmsnav.navigation.session.atomic import SaveError

CLINIC = ClinicSettings(tolerance_mm=2.5, tolerance_angle_rad=math.radians(7.0),
                        coil_model_id="magventure-b65-like", tracker_kind="ndi",
                        tracker_port="/dev/ttyUSB0", stimulator_kind="magstim-rapid",
                        stimulator_port="/dev/ttyS1", pulse_source_kind="key",
                        pulse_source_detail="F9", database_url="postgresql+psycopg://nav@db.clinic:5432/tms",
                        sessions_root="/data/tmsnav/sessions", distance_unit="cm", sounds=False,
                        report_identity=True)


def test_round_trip_every_field(tmp_path: Path) -> None:
    path = save_settings(CLINIC, tmp_path)
    assert path == tmp_path / SETTINGS_FILE
    data = json.loads(path.read_text())
    assert data["format_version"] == FORMAT_VERSION
    loaded = read_settings(tmp_path)
    assert loaded.settings == CLINIC and loaded.messages == () and loaded.exists
    assert ClinicSettings.load(tmp_path) == CLINIC
    # every field differs from its default, so a field the file forgets would show up here
    defaults = ClinicSettings()
    for name in data:
        if name != "format_version":
            assert getattr(CLINIC, name) != getattr(defaults, name), name
    assert not list(tmp_path.glob(".*.tmp")), "atomic write left its temp file"


def test_no_file_gives_defaults_without_message(tmp_path: Path) -> None:
    loaded = read_settings(tmp_path / "never-created")
    assert loaded.settings == ClinicSettings() and loaded.messages == () and not loaded.exists
    assert not (tmp_path / "never-created").exists(), "reading must not create the folder"


def test_env_var_and_argument_choose_the_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_CONFIG_DIR, str(tmp_path / "env"))
    assert config_dir() == tmp_path / "env"
    assert config_dir(tmp_path / "arg") == tmp_path / "arg"           # the argument wins
    ClinicSettings(tolerance_mm=4.0).save()
    assert load_settings().tolerance_mm == 4.0
    assert (tmp_path / "env" / SETTINGS_FILE).exists()
    monkeypatch.delenv(ENV_CONFIG_DIR)
    import platformdirs

    assert config_dir() == Path(platformdirs.user_config_dir("tmsnav", appauthor=False))


def test_tolerance_is_the_navigate_tabs_and_radians_inside(tmp_path: Path) -> None:
    s = ClinicSettings(tolerance_mm=2.0, tolerance_angle_rad=math.radians(4.0))
    tol = s.tolerance()
    assert tol.distance_mm == 2.0 and tol.tilt_rad == pytest.approx(math.radians(4.0))
    assert tol.depth_mm == 5.0 and tol.twist_rad == pytest.approx(math.radians(8.0))
    save_settings(s, tmp_path)
    stored = json.loads(settings_path(tmp_path).read_text())["tolerance_angle_rad"]
    assert stored == pytest.approx(0.0698, abs=1e-4), "angles are stored in radians, not degrees"


@pytest.mark.safety(hazard="units", control="a tolerance of 5 (degrees) in clinic.json's radians "
                    "field is refused and the default used, with a message")
def test_a_tolerance_in_degrees_written_as_radians_is_refused() -> None:
    """The classic mix-up: 5 (meant as degrees) in the radians field is 286 degrees."""
    settings, messages = ClinicSettings.from_dict({"format_version": 1, "tolerance_angle_rad": 5})
    assert settings.tolerance_angle_rad == ClinicSettings().tolerance_angle_rad
    assert any("1 to 45 degrees" in m for m in messages)


def test_newer_file_is_read_warned_and_not_replaced_without_asking(tmp_path: Path) -> None:
    newer = {**CLINIC.to_dict(), "format_version": FORMAT_VERSION + 1, "haptic_feedback": "strong"}
    path = settings_path(tmp_path)
    path.write_text(json.dumps(newer))
    loaded = read_settings(tmp_path)
    assert loaded.newer_file and loaded.settings == CLINIC
    assert "newer tmsnav" in loaded.messages[0] and f"format {FORMAT_VERSION + 1}" in loaded.messages[0]
    before = path.read_bytes()
    with pytest.raises(NewerSettingsFileError, match="newer tmsnav"):
        save_settings(replace_settings(loaded.settings, sounds=True), tmp_path)
    assert path.read_bytes() == before, "a refused save must leave the newer file as it was"
    save_settings(replace_settings(loaded.settings, sounds=True), tmp_path, replace_newer=True)
    written = json.loads(path.read_text())
    assert written["sounds"] is True and written["format_version"] == FORMAT_VERSION
    assert written["haptic_feedback"] == "strong", "keys of the newer version are kept"


def replace_settings(s: ClinicSettings, **kw) -> ClinicSettings:
    from dataclasses import replace

    return replace(s, **kw)


@pytest.mark.parametrize("content, why", [
    (b'{"format_version": 1, "tolerance_mm": 3.0,', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[1, 2, 3]", "no settings object"),
    (b'{"tolerance_mm": 2.0}', "no valid format_version"),
    (b'{"format_version": "1"}', "no valid format_version"),
])
def test_damaged_file_gives_defaults_and_is_kept_aside(tmp_path: Path, content: bytes, why: str) -> None:
    path = settings_path(tmp_path)
    path.write_bytes(content)
    quiet = load_settings(tmp_path)                      # e.g. the records reading the URL first
    assert quiet == ClinicSettings() and path.read_bytes() == content, "left for the window to see"
    loaded = read_settings(tmp_path, keep_aside=True)
    assert loaded.settings == ClinicSettings()
    assert len(loaded.messages) == 1 and why in loaded.messages[0]
    assert loaded.kept_aside is not None and loaded.kept_aside.read_bytes() == content
    assert loaded.kept_aside.name.startswith("clinic.damaged-") and loaded.kept_aside.suffix == ".json"
    assert loaded.kept_aside.name in loaded.messages[0]
    assert not path.exists()
    save_settings(ClinicSettings(tolerance_mm=4.0), tmp_path)      # the next save starts afresh
    assert load_settings(tmp_path).tolerance_mm == 4.0
    assert loaded.kept_aside.read_bytes() == content, "the damaged file is never overwritten"


def test_two_damaged_files_in_one_second_are_both_kept(tmp_path: Path) -> None:
    path = settings_path(tmp_path)
    path.write_text("{oops")
    first = read_settings(tmp_path, keep_aside=True).kept_aside
    path.write_text("{oops again")
    second = read_settings(tmp_path, keep_aside=True).kept_aside
    assert first is not None and second is not None and first != second
    assert first.read_text() == "{oops" and second.read_text() == "{oops again"


def test_one_bad_value_falls_back_alone_with_its_name(tmp_path: Path) -> None:
    data = {**CLINIC.to_dict(), "tolerance_mm": -2.0, "distance_unit": "inch", "sounds": "yes",
            "sessions_root": "relative/folder"}
    settings_path(tmp_path).write_text(json.dumps(data))
    loaded = read_settings(tmp_path)
    s = loaded.settings
    assert s.tolerance_mm == 3.0 and s.distance_unit == "mm" and s.sounds is True
    assert s.sessions_root == ""
    assert s.tracker_port == "/dev/ttyUSB0" and s.coil_model_id == "magventure-b65-like"
    text = "\n".join(loaded.messages)
    for words in ("0.5 to 20 mm", "mm or cm", "sounds", "full path"):
        assert words in text
    assert loaded.kept_aside is None and settings_path(tmp_path).exists()


def test_integer_numbers_are_accepted_and_booleans_are_not_numbers() -> None:
    s, messages = ClinicSettings.from_dict({"format_version": 1, "tolerance_mm": 4})
    assert s.tolerance_mm == 4.0 and isinstance(s.tolerance_mm, float) and not messages
    s, messages = ClinicSettings.from_dict({"format_version": 1, "tolerance_mm": True})
    assert s.tolerance_mm == 3.0 and messages
    assert "tolerance_mm" in ClinicSettings(tolerance_mm=True).problems()      # type: ignore[arg-type]
    assert "tolerance_mm" in ClinicSettings(tolerance_mm=float("nan")).problems()


def test_save_refuses_invalid_settings_and_keeps_the_old_file(tmp_path: Path) -> None:
    save_settings(CLINIC, tmp_path)
    before = settings_path(tmp_path).read_bytes()
    for bad in (replace_settings(CLINIC, tolerance_mm=0.0),
                replace_settings(CLINIC, database_url="postgresql+psycopg://nav:hunter2@db/tms"),
                replace_settings(CLINIC, distance_unit="m")):
        with pytest.raises(SettingsError) as info:
            save_settings(bad, tmp_path)
        assert "hunter2" not in str(info.value)
    assert settings_path(tmp_path).read_bytes() == before


def test_save_failure_is_a_message_and_the_previous_file_survives(tmp_path: Path, monkeypatch) -> None:
    save_settings(CLINIC, tmp_path)
    before = settings_path(tmp_path).read_bytes()

    def disk_full(path, data):
        raise SaveError(f"Could not save {path}: the disk is full. The previous saved version is intact.")

    monkeypatch.setattr("tmsnav.navigation.clinic_settings.atomic_write_json", disk_full)
    with pytest.raises(SettingsError, match="disk is full"):
        save_settings(replace_settings(CLINIC, sounds=True), tmp_path)
    assert settings_path(tmp_path).read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_unwritable_folder_is_a_settings_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(SettingsError, match="permission denied|Permission denied"):
            save_settings(CLINIC, locked / "sub")
    finally:
        locked.chmod(0o700)


def test_saving_creates_the_folder(tmp_path: Path) -> None:
    save_settings(CLINIC, tmp_path / "a" / "b")
    assert load_settings(tmp_path / "a" / "b") == CLINIC


def test_sessions_root_and_database_url_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    s = ClinicSettings()
    url = s.database_url_or_default()
    assert url.startswith("sqlite:///") and str(tmp_path / "data") in url
    assert s.sessions_root_or_default() == tmp_path / "data" / "sessions"
    c = replace_settings(s, database_url=" postgresql://nav@db/tms ", sessions_root="/srv/sessions")
    assert c.database_url_or_default() == "postgresql+psycopg://nav@db/tms"
    assert c.sessions_root_or_default() == Path("/srv/sessions")


@pytest.mark.parametrize("mm, unit, text, signed", [
    (3.24, "mm", "3.2 mm", False), (3.24, "cm", "0.32 cm", False), (-12.0, "cm", "-1.20 cm", True),
    (4.0, "mm", "+4.0 mm", True)])
def test_format_distance_always_names_its_unit(mm, unit, text, signed) -> None:
    assert ClinicSettings(distance_unit=unit).format_distance(mm, signed=signed) == text
    assert set(DISTANCE_UNITS) == {"mm", "cm"}


# ----- database URL ------------------------------------------------------------------------
@pytest.mark.parametrize("text, canonical", [
    ("", ""), ("  ", ""),
    ("sqlite:////var/lib/tmsnav/tmsnav.sqlite3", "sqlite:////var/lib/tmsnav/tmsnav.sqlite3"),
    ("sqlite:///C:/tmsnav/tmsnav.sqlite3", "sqlite:///C:/tmsnav/tmsnav.sqlite3"),
    ("postgresql+psycopg://nav@db.clinic:5432/tms", "postgresql+psycopg://nav@db.clinic:5432/tms"),
    ("postgresql://nav@db.clinic/tms", "postgresql+psycopg://nav@db.clinic/tms"),
    ("postgres://nav@10.0.0.5:6543/tms?sslmode=require",
     "postgresql+psycopg://nav@10.0.0.5:6543/tms?sslmode=require"),
    ("postgresql+psycopg://tmsnav@/postgres?host=/tmp/pg&port=5433",      # a Unix socket
     "postgresql+psycopg://tmsnav@/postgres?host=%2Ftmp%2Fpg&port=5433"),
])
def test_database_urls_accepted(text: str, canonical: str) -> None:
    assert parse_database_url(text) == canonical


@pytest.mark.parametrize("text, words", [
    ("postgresql+psycopg://nav:S3cret!@db.clinic:5432/tms", "keyring"),
    ("postgresql+psycopg://nav@db.clinic/tms?password=S3cret!", "keyring"),
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
    ("sqlite:///tmsnav.sqlite3", "full path"),
    ("postgresql+psycopg://db.clinic/tms", "no user name"),
    ("postgresql+psycopg://nav@db.clinic", "no database name"),
    ("postgresql+psycopg://nav@db.clinic:99999/tms", "not a TCP port"),
    ("postgresql+psycopg://nav@db.clinic:54x/tms", "port must be a number"),
    ("postgresql+psycopg2://nav@db.clinic/tms", "psycopg (version 3)"),
    ("mysql://nav@db.clinic/tms", "Only SQLite"),
    ("db.clinic:5432", "not a database URL"),
    ("C:\\tmsnav\\tmsnav.sqlite3", "not a database URL"),
])
def test_database_urls_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(DatabaseUrlError) as info:
        parse_database_url(text)
    assert words in str(info.value)
    assert "S3cret" not in str(info.value), "a refused URL must never be echoed with its password"


def test_url_without_password_and_description_never_show_it() -> None:
    url = "postgresql+psycopg://nav:S3cret@db.clinic:5432/tms?sslmode=require&password=x2"
    bare = url_without_password(url)
    assert bare == "postgresql+psycopg://nav@db.clinic:5432/tms?sslmode=require"
    assert "S3cret" not in describe_database_url(url)
    assert describe_database_url(url) == "PostgreSQL database tms on db.clinic:5432 as nav"
    assert url_without_password("not a url :: S3cret") == ""
    socket = "postgresql+psycopg://tmsnav:S3cret@/postgres?host=/tmp/pg&port=5433"
    assert describe_database_url(socket) == "PostgreSQL database postgres on /tmp/pg:5433 as tmsnav"
    assert "S3cret" not in url_without_password(socket)
