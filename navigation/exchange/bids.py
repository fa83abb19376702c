"""A course as a BIDS-style dataset: the T1, digitised electrodes and every pulse as events.

Layout (Brain Imaging Data Structure 1.9, Gorgolewski et al. 2016, Sci Data 3:160044;
bids-specification.readthedocs.io)::

    <out_dir>/dataset_description.json, README, participants.tsv (+ .json)
    <out_dir>/sub-<label>/sub-<label>_sessions.tsv
    <out_dir>/sub-<label>/ses-<NN>/anat/sub-<label>_ses-<NN>_T1w.nii.gz        (first session)
    <out_dir>/sub-<label>/ses-<NN>/eeg/sub-<label>_ses-<NN>_space-Other_electrodes.tsv
                                       (+ _coordsystem.json, where the session folder has them)
    <out_dir>/sub-<label>/ses-<NN>/beh/sub-<label>_ses-<NN>_task-tms_events.tsv (+ .json)

* Labels: BIDS allows letters and digits only in a label, so the pseudonym loses its ``-`` and
  ``_`` (``P-007`` -> ``sub-P007``); the README and ``participants.tsv`` (column
  ``tmsnav_pseudonym``) say so. The pseudonym is the only patient key: no name, birth date or MRN.
* TMS has no datatype in released BIDS; a pulse series without a neural recording is what the
  ``beh`` datatype holds (events only). Each pulse is an event: ``onset`` (s since the session
  started), ``duration`` 0, ``trial_type`` ``tms_pulse``, output (% MSO), dI/dt (A/us), the
  coil centre x/y/z, normal and handle in the T1's scanner RAS mm, the guidance errors and whether
  it was within tolerance; the JSON sidecar gives every column its unit.
* The T1 is the course's planning MRI, acquired once: it is stored in the first session exported.
* Electrodes: a session folder that holds ``*_electrodes.tsv`` (EEG tab, "Save BIDS…") has them
  read (unit and coordinate system checked) and written again under the session's BIDS name.

The export is built in a temporary folder beside ``out_dir``, checked (every name against the
BIDS label rules, every events file read back and compared with the database's pulses) and only
then renamed into place: nothing half-written is left to be mistaken for a complete export.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from tmsnav.navigation.eeg.bids_electrodes import (BidsElectrodeError, read_bids_electrodes,
                                                   write_bids_electrodes)
from tmsnav.navigation.progress import CancelToken, ProgressCallback, report
from tmsnav.navigation.treatment.pulse_log import LoggedPulse

from .errors import ExchangeError

__all__ = ["export_course_bids", "bids_label", "read_events", "check_bids_names", "EVENT_COLUMNS"]

BIDS_VERSION = "1.9.0"
EVENT_COLUMNS = ["onset", "duration", "trial_type", "pulse_index", "output_pct_mso",
                 "didt_a_per_us", "x_mm", "y_mm", "z_mm", "normal_x", "normal_y", "normal_z",
                 "handle_x", "handle_y", "handle_z", "target", "position_error_mm",
                 "angle_error_deg", "depth_error_mm", "twist_error_deg", "within_tolerance",
                 "pose_unknown_reason", "source", "wall_time_utc"]
_SIDECAR: dict[str, dict[str, Any]] = {
    "onset": {"Description": "Time of the pulse since the session started (OnsetZeroUTC; the "
                             "first pulse when the start is not recorded)", "Units": "s"},
    "duration": {"Description": "A TMS pulse lasts well under a millisecond: 0", "Units": "s"},
    "trial_type": {"Levels": {"tms_pulse": "one delivered TMS pulse"}},
    "pulse_index": {"Description": "Number of the pulse in the session (1, 2, ...)"},
    "output_pct_mso": {"Description": "Stimulator output the device reported for this pulse",
                       "Units": "% of maximum stimulator output"},
    "didt_a_per_us": {"Description": "Coil current slope the device reported", "Units": "A/us"},
    "target": {"Description": "Name of the target aimed at"},
    "position_error_mm": {"Description": "In-plane distance of the coil centre from the target",
                          "Units": "mm"},
    "angle_error_deg": {"Description": "Tilt between the coil normal and the target's", "Units": "deg"},
    "depth_error_mm": {"Description": "Distance along the target normal", "Units": "mm"},
    "twist_error_deg": {"Description": "Rotation of the handle about the normal", "Units": "deg"},
    "within_tolerance": {"Levels": {"true": "within the Navigate tab's tolerance",
                                    "false": "outside it"}},
    "pose_unknown_reason": {"Description": "Why the coil pose is unknown (n/a when known)"},
    "source": {"Description": "What reported the pulse (stimulator, TTL input, ...)"},
    "wall_time_utc": {"Description": "UTC time of the pulse (ISO 8601)"},
}
for _axis in "xyz":
    _SIDECAR[f"{_axis}_mm"] = {"Description": f"Coil centre {_axis}, scanner RAS of the T1 MRI "
                                              "(x right, y anterior, z superior)", "Units": "mm"}
    _SIDECAR[f"normal_{_axis}"] = {"Description": f"Coil normal (into the head), {_axis} "
                                                  "component, scanner RAS"}
    _SIDECAR[f"handle_{_axis}"] = {"Description": f"Coil handle direction, {_axis} component, "
                                                  "scanner RAS"}
_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_ENTITY = re.compile(r"^(?:[a-z]+-[A-Za-z0-9]+_)*")


class _RecordsLike(Protocol):
    def course(self, uid: str) -> Any: ...
    def sessions(self, course_uid: str) -> list[Any]: ...
    def pulses(self, session_uid: str) -> list[LoggedPulse]: ...


def bids_label(pseudonym: str) -> str:
    """The BIDS subject label of a pseudonym: its letters and digits only."""
    label = re.sub(r"[^A-Za-z0-9]", "", pseudonym)
    if not label:
        raise ExchangeError(f"the pseudonym {pseudonym!r} has no letter or digit to name a BIDS "
                            "subject")
    return label


def _cell(v: object) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else repr(v)
    return " ".join(str(v).replace("\t", " ").split()) or "n/a"


def _parse_time(iso: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _acq_time(iso: str | None) -> str:
    """BIDS ``acq_time``: ``YYYY-MM-DDThh:mm:ss[.ffffff]Z`` in UTC (no other offset form)."""
    t = _parse_time(iso)
    if t is None:
        return "n/a"
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond:06d}" if t.microsecond else "") + "Z"


def _onset_zero(pulses: Sequence[LoggedPulse], started_utc: str | None) -> datetime | None:
    """Onsets count from the session's start, or from its first pulse when the start is unknown."""
    t0 = _parse_time(started_utc)
    if t0 is None and pulses:
        t0 = _parse_time(pulses[0].wall_time_iso)
    return t0


def _event_rows(pulses: Sequence[LoggedPulse], t0: datetime | None) -> list[list[str]]:
    rows = []
    for p in pulses:
        t = _parse_time(p.wall_time_iso)
        onset = None if t is None or t0 is None else round((t - t0).total_seconds(), 3)
        m = None if p.mri_from_hotspot is None else p.mri_from_hotspot.matrix
        geo: list[object] = [None] * 9 if m is None else \
            [float(v) for v in (*m[:3, 3], *m[:3, 2], *m[:3, 1])]
        deg = [None if r is None else math.degrees(r) for r in (p.angle_error_rad,
                                                                  p.twist_error_rad)]
        rows.append([_cell(v) for v in (
            onset, 0.0, "tms_pulse", p.index, p.output_pct_mso, p.didt_a_per_us, *geo,
            p.target_name, p.position_error_mm, deg[0], p.depth_error_mm, deg[1],
            p.within_tolerance, p.pose_reason or None, p.source, p.wall_time_iso)])
    return rows


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE,
                       escapechar="\\")
        w.writerow(header)
        w.writerows(rows)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """An events.tsv written by :func:`export_course_bids`, typed back (n/a -> None)."""
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"):
            typed: dict[str, Any] = {}
            for key, text in row.items():
                if text == "n/a":
                    typed[key] = None
                elif key in ("trial_type", "target", "pose_unknown_reason", "source",
                             "wall_time_utc"):
                    typed[key] = text
                elif key == "within_tolerance":
                    typed[key] = text == "true"
                elif key == "pulse_index":
                    typed[key] = int(text)
                else:
                    typed[key] = float(text)
            out.append(typed)
    return out


def check_bids_names(root: str | Path) -> list[str]:
    """Problems with file and folder names under ``sub-*`` (entities ``key-label``, labels
    alphanumeric, every file named after its subject and session folders); [] when all is well."""
    root = Path(root)
    problems = []
    for path in sorted(root.glob("sub-*/**/*")):
        rel = path.relative_to(root)
        parts = rel.parts
        sub = parts[0]
        if not _LABEL.match(sub[4:]):
            problems.append(f"{sub}: the subject label is not alphanumeric")
        if len(parts) > 1 and parts[1].startswith("ses-") and not _LABEL.match(parts[1][4:]):
            problems.append(f"{parts[1]}: the session label is not alphanumeric")
        if path.is_file():
            name = path.name
            if not name.startswith(sub + "_"):
                problems.append(f"{rel}: does not start with {sub}_")
            if len(parts) > 2 and parts[1].startswith("ses-") and f"_{parts[1]}_" not in name:
                problems.append(f"{rel}: does not name its session {parts[1]}")
            stem = name.split(".", 1)[0]
            entities = stem.rsplit("_", 1)[0] + "_"
            if _ENTITY.fullmatch(entities) is None:
                problems.append(f"{rel}: entities are not key-label pairs")
    return problems


def _copy_t1(mri_path: str, dest: Path, notes: list[str]) -> bool:
    src = Path(mri_path) if mri_path else None
    if src is None or not src.is_file():
        notes.append("the course MRI file was not found" + (f" ({src.name})" if src else "")
                     + ": no anat/ T1w in the export")
        return False
    name = src.name.lower()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".nii.gz"):
        shutil.copyfile(src, dest)
    elif name.endswith(".nii"):
        with open(src, "rb") as fin, gzip.open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    else:
        notes.append(f"the course MRI {src.name} is not NIfTI: no anat/ T1w in the export")
        return False
    return True


def _electrodes(folder: str, stem: Path, intended: str | None, notes: list[str]) -> None:
    root = Path(folder) if folder else None
    if root is None or not root.is_dir():
        return
    found = sorted(root.rglob("*_electrodes.tsv"), key=lambda p: p.stat().st_mtime)
    if not found:
        return
    try:
        e = read_bids_electrodes(found[-1])
    except BidsElectrodeError as exc:
        notes.append(f"electrodes of session folder {root.name} not exported: {exc}")
        return
    write_bids_electrodes(stem, e.positions_mm, types=e.types, materials=e.materials,
                          placement=e.placement, intended_for=intended)


def _check_events(path: Path, pulses: Sequence[LoggedPulse]) -> None:
    back = read_events(path)
    ok = len(back) == len(pulses)
    for row, p in zip(back, pulses):
        pose = p.mri_from_hotspot
        ok = ok and row["pulse_index"] == p.index and row["output_pct_mso"] == p.output_pct_mso
        ok = ok and (pose is None) == (row["x_mm"] is None)
        if pose is not None:
            ok = ok and bool(np.allclose([row["x_mm"], row["y_mm"], row["z_mm"]],
                                         pose.matrix[:3, 3], atol=1e-9))
    if not ok:
        raise ExchangeError(f"{path.name} does not read back as the database's pulses: export "
                            "cancelled")


def export_course_bids(records: _RecordsLike, course_uid: str, out_dir: str | Path, *,
                       notes: list[str] | None = None, progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None) -> Path:
    """Write the course as a BIDS-style dataset at ``out_dir`` (new or empty); returns it.
    ``notes`` (when given) receives what was renamed or left out. Cancelling (``cancel``)
    raises :class:`Cancelled` and leaves nothing behind."""
    notes = [] if notes is None else notes
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExchangeError(f"{out} already exists and is not empty: choose a new folder")
    if not out.parent.is_dir():
        raise ExchangeError(f"the folder {out.parent} does not exist")
    course = records.course(course_uid)
    label = bids_label(course.pseudonym)
    if label != course.pseudonym:
        notes.append(f"BIDS labels are letters and digits only: pseudonym {course.pseudonym!r} "
                     f"is exported as sub-{label}")
    sessions = sorted(records.sessions(course_uid), key=lambda s: s.number)
    width = max(2, len(str(max((s.number for s in sessions), default=1))))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        sub = tmp / f"sub-{label}"
        sub.mkdir()
        t1_rel = None
        session_rows = []
        for i, s in enumerate(sessions):
            if cancel is not None:
                cancel.raise_if_cancelled()
            report(progress, i / max(1, len(sessions)), f"session {s.number}")
            ses = f"ses-{s.number:0{width}d}"
            base = sub / ses
            prefix = f"sub-{label}_{ses}"
            if i == 0 and _copy_t1(course.mri_path, base / "anat" / f"{prefix}_T1w.nii.gz", notes):
                t1_rel = f"bids::sub-{label}/{ses}/anat/{prefix}_T1w.nii.gz"
            _electrodes(s.folder, base / "eeg" / f"{prefix}_space-Other", t1_rel, notes)
            pulses = records.pulses(s.uid)
            events = base / "beh" / f"{prefix}_task-tms_events.tsv"
            t0 = _onset_zero(pulses, s.started_utc)
            _write_tsv(events, EVENT_COLUMNS, _event_rows(pulses, t0))
            _write_json(events.with_name(f"{prefix}_task-tms_events.json"),
                        {"TaskName": "tms", "OnsetZeroUTC": None if t0 is None else t0.isoformat(),
                         **_SIDECAR})
            _check_events(events, pulses)
            session_rows.append([ses, _acq_time(s.started_utc), str(s.number), _cell(s.status),
                                 str(len(pulses))])
        _write_tsv(sub / f"sub-{label}_sessions.tsv",
                   ["session_id", "acq_time", "session_number", "status", "pulses"], session_rows)
        _write_tsv(tmp / "participants.tsv", ["participant_id", "tmsnav_pseudonym"],
                   [[f"sub-{label}", course.pseudonym]])
        _write_json(tmp / "participants.json", {"tmsnav_pseudonym": {
            "Description": "The patient's pseudonym in tmsnav (no identifying data is exported)"}})
        _write_json(tmp / "dataset_description.json", {
            "Name": f"tmsnav course {course_uid[:8]}", "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw", "GeneratedBy": [{"Name": "tmsnav"}]})
        (tmp / "README").write_text(
            f"TMS course {course_uid[:8]} exported by tmsnav.\n\nSubject sub-{label} is the "
            f"patient with pseudonym {course.pseudonym} (BIDS labels allow letters and digits "
            "only). Pulses are events in beh/ (onset in s since the session started, "
            "coordinates in the T1's scanner RAS mm; units in the JSON sidecars). The T1 is the "
            "course's planning MRI, stored once in the first session.\n"
            + "".join(f"\nNote: {n}" for n in notes) + "\n", encoding="utf-8")
        problems = check_bids_names(tmp)
        if problems:
            raise ExchangeError("the export breaks the BIDS naming rules: " + "; ".join(problems[:3]))
        if cancel is not None:
            cancel.raise_if_cancelled()
        if out.exists():
            out.rmdir()
        tmp.rename(out)
        report(progress, 1.0, "done")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExchangeError(f"the BIDS export could not be written: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
