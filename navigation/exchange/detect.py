"""Which format a file is in, from its first bytes, and a plain description when it is none of ours.

:func:`sniff` answers one of ``FORMATS``; :func:`describe` says what the file looks like ("an
empty file", "a comma-separated table with the columns ...", "an XML file whose root element is
<EntryTargetList>") for the message of :func:`require`, which every reader calls first so that a
Localite file given to the Brainsight reader, a CSV, an empty or a binary file is refused with
what was expected and what was found.

Signatures: Brainsight text exports start with ``# Version:`` and hold ``# Target Name`` /
``# Sample Name`` header lines (Rogue Research's export, as read by SimNIBS' ``nnav.brainsight``);
Localite XML has the root ``<InstrumentMarkerList>`` or ``<TriggerMarkerList>``; a MATLAB 5 / 7
``.mat`` file starts with the 116-byte text header "MATLAB 5.0 MAT-file" (MathWorks, MAT-file
format); v7.3 files are HDF5 (``\\x89HDF``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ExchangeError

__all__ = ["sniff", "describe", "require", "FORMATS", "FORMAT_LABELS"]

FORMATS = ("brainsight", "localite-instrument", "localite-trigger", "simnibs-mat", "unknown")
FORMAT_LABELS = {"brainsight": "Brainsight text export (.txt)",
                 "localite-instrument": "Localite InstrumentMarker file (.xml)",
                 "localite-trigger": "Localite TriggerMarker file (.xml)",
                 "simnibs-mat": "SimNIBS coil position file (.mat with matsimnibs)",
                 "unknown": "file of unknown format"}
_HEAD_BYTES = 8192
_XML_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*)[\s>/]")


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise ExchangeError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ExchangeError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise ExchangeError(f"cannot read {path.name}: {exc.strerror or exc}") from None


def _text(head: bytes) -> str | None:
    """The head as text, None when it is binary (NUL bytes or not UTF-8 / Latin-1 text)."""
    if b"\x00" in head:
        return None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def _xml_root(text: str) -> str | None:
    body = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.S).lstrip()
    if not body.startswith("<"):
        return None
    m = _XML_ROOT.match(body)
    return m.group(1) if m else None


def sniff(path: str | Path) -> str:
    """One of :data:`FORMATS` for ``path`` (from its first 8 KiB)."""
    head = _head(Path(path))
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "simnibs-mat"
    text = _text(head)
    if text is None:
        return "unknown"
    root = _xml_root(text)
    if root == "InstrumentMarkerList":
        return "localite-instrument"
    if root == "TriggerMarkerList":
        return "localite-trigger"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and (lines[0].startswith("# Version:") or
                  any(ln.startswith(("# Target Name\t", "# Sample Name\t")) for ln in lines)):
        return "brainsight"
    return "unknown"


def describe(path: str | Path) -> str:
    """What the file looks like, in words, for an error message."""
    path = Path(path)
    head = _head(path)
    if not head.strip():
        return "an empty file" if not head else "a file with only blank space"
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "a MATLAB .mat file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (MATLAB v7.3 .mat files are HDF5: save with -v7 to read it here)"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or an Office document)"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip-compressed file (a .nii.gz image?)"
    text = _text(head)
    if text is None:
        return f"a binary file (it starts with the bytes {head[:8].hex(' ')})"
    kind = sniff(path)
    if kind != "unknown":
        return f"a {FORMAT_LABELS[kind]}"
    root = _xml_root(text)
    if root is not None:
        return f"an XML file whose root element is <{root}>"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("{") or first.startswith("["):
        return "a JSON file"
    for sep, label in ((",", "comma"), (";", "semicolon"), ("\t", "tab")):
        if first.count(sep) >= 2:
            cols = [c.strip().strip('"') for c in first.split(sep)][:6]
            return f"a {label}-separated table with the columns {', '.join(cols)}"
    return f"a text file starting with {first[:60]!r}"


def require(path: str | Path, expected: str) -> Path:
    """``path`` if it sniffs as ``expected``; otherwise an :class:`ExchangeError` naming both."""
    path = Path(path)
    if sniff(path) != expected:
        raise ExchangeError(f"{path.name} is not a {FORMAT_LABELS[expected]}: it is "
                            f"{describe(path)}.")
    return path
