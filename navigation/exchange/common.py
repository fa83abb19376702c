"""What the exchange readers return, and the small file helpers every format shares.

:class:`ExchangeData` is one imported file: its targets as a :class:`TargetSet` (poses already in
tmsnav's ``mri`` frame and coil axes, see :mod:`.poses`), its per-pulse samples, the coordinate
system the file declared and notes on anything that was converted, skipped or renamed (the import
dialog shows them). :class:`ExchangeSample` is one recorded pulse or sample of another tool; the
fields a format does not carry are None.

Files are written to a temporary file in the same folder, flushed, fsynced and renamed, so a full
disk or a crash never leaves half an export that another tool would read as complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from tmsnav.navigation.session.atomic import SaveError
from tmsnav.navigation.session.atomic import atomic_write_bytes as session_atomic_write
from tmsnav.navigation.targeting.targets import Target, TargetSet
from tmsnav.navigation.transforms import Frame, Transform

from .errors import ExchangeError

__all__ = ["ExchangeData", "ExchangeSample", "atomic_write_bytes", "atomic_write_text",
           "unique_name", "optional_float", "NULL_TEXTS"]

#: Cell texts that mean "no value" in the vendors' files: Brainsight writes ``(null)``.
NULL_TEXTS = frozenset({"", "(null)", "null", "nan", "n/a", "none"})


@dataclass(frozen=True, eq=False)
class ExchangeSample:
    """One pulse / sample read from another tool's file (mm, radians, ``mri`` frame, our axes)."""

    name: str
    index: int | None = None
    target_name: str | None = None
    mri_from_hotspot: np.ndarray | None = None      # 4x4, None = the coil was not tracked
    output_pct_mso: float | None = None
    didt_a_per_us: float | None = None
    position_error_mm: float | None = None
    angle_error_rad: float | None = None
    twist_error_rad: float | None = None
    time_iso: str | None = None                      # as written; "+00:00" only when the file says UTC
    recording_time_ms: float | None = None           # Localite: ms since the recording started
    source: str = ""
    comment: str = ""
    response_uv: float | None = None                 # Localite: the MEP amplitude it recorded

    @property
    def pose_known(self) -> bool:
        return self.mri_from_hotspot is not None

    @property
    def transform(self) -> Transform | None:
        """The pose as a frame-checked ``mri_from_hotspot`` (None when not tracked)."""
        if self.mri_from_hotspot is None:
            return None
        return Transform(Frame.MRI, Frame.HOTSPOT, self.mri_from_hotspot)


@dataclass
class ExchangeData:
    """One imported file. Iterating it, ``len`` and ``names`` act on its targets ("TargetSet-like")."""

    format: str
    targets: TargetSet = field(default_factory=TargetSet)
    samples: list[ExchangeSample] = field(default_factory=list)
    coordinate_system: str = ""
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def names(self) -> list[str]:
        return self.targets.names


def unique_name(name: str, taken: set[str], notes: list[str], what: str) -> str:
    """``name`` or ``name (2)``, ``name (3)``... so that two markers of one file both survive."""
    base = " ".join(str(name).split()) or what
    out, n = base, 2
    while out in taken:
        out, n = f"{base} ({n})", n + 1
    if out != base:
        notes.append(f"two {what}s are named {base!r}: the second is imported as {out!r}")
    taken.add(out)
    return out


def optional_float(text: object, what: str) -> float | None:
    """A number cell, None for the formats' "no value" spellings; a clear error for anything else."""
    if text is None:
        return None
    s = str(text).strip()
    if s.lower() in NULL_TEXTS:
        return None
    try:
        value = float(s)
    except ValueError:
        raise ExchangeError(f"{what}: {s!r} is not a number") from None
    return value if math.isfinite(value) else None


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` all or nothing: the session store's crash-safe write (temp file
    in the same folder, fsync, rename, fsync of the folder), its failure as an ExchangeError."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ExchangeError(f"cannot write {path.name}: the folder {path.parent} does not exist")
    try:
        session_atomic_write(path, data)
    except SaveError as exc:
        cause = exc.__cause__
        reason = (cause.strerror or str(cause)) if isinstance(cause, OSError) else str(exc)
        raise ExchangeError(f"cannot write {path.name}: {reason}") from None
    return path


def atomic_write_text(path: str | Path, text: str, *, newline: str = "\n") -> Path:
    """UTF-8 text, all or nothing; ``newline`` replaces every "\\n" (CRLF for Windows tools)."""
    if newline != "\n":
        text = text.replace("\n", newline)
    return atomic_write_bytes(path, text.encode("utf-8"))
