"""Localite TMS Navigator XML: InstrumentMarkers (targets) and TriggerMarkers (pulses).

The format (Localite's session files, as read and written by SimNIBS ``nnav.localite`` and shown
in its documentation): ``<InstrumentMarkerList coordinateSpace="RAS">`` holds
``<InstrumentMarker index=..>`` elements, each with ``<Marker description="name" set="true">``
and a ``<Matrix4D data00=".." ... data33=".."/>`` (``data<row><col>``, mm);
``<TriggerMarkerList coordinateSpace="RAS" startTime="HH:MM:SS.ss">`` holds one
``<TriggerMarker description=".." recordingTime="ms since the recording started">`` per pulse with
``<ResponseValues>`` (``<Value key="valueA" response="dI/dt in A/us"/>``,
``key="amplitudeA"`` = output in % MSO, ``key="response"`` = the MEP in uV) and its Matrix4D.
A pulse given while the coil was not tracked has the identity matrix (SimNIBS skips those as
"untracked"); tmsnav reads it as "pose unknown" and writes unknown poses that way.

Coil axes: Localite's x is the coil normal into the head, y points away from the handle and
z = our x (see :mod:`.poses`). ``coordinateSpace="LPS"`` (DICOM-based projects) is converted to
RAS; other spaces are refused. Not carried: names of pulses' targets beyond the description,
guidance errors, absolute dates (only the start time of day).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tmsnav.navigation.targeting.targets import Target, TargetSet
from tmsnav.navigation.treatment.pulse_log import LoggedPulse

from .common import ExchangeData, ExchangeSample, atomic_write_bytes, optional_float, unique_name
from .detect import require
from .errors import ExchangeError
from .poses import RAS_FROM_LPS, checked_pose, from_vendor, target_from_pose, to_vendor

__all__ = ["write_instrument_markers", "read_instrument_markers", "write_trigger_markers",
           "read_trigger_markers"]

_COMMENT = ("All positions are saved in the coordinate system of the corresponding medical data "
            "(RAS: x to the patient's right, y anterior, z superior), millimetres. Written by tmsnav.")


# ----- writing --------------------------------------------------------------------------------
def _matrix_element(parent: ET.Element, mri_from_ours: np.ndarray | None) -> None:
    m = np.eye(4) if mri_from_ours is None else to_vendor(mri_from_ours, "localite")
    ET.SubElement(parent, "Matrix4D", {f"data{r}{c}": repr(float(m[r, c]))
                                       for r in range(4) for c in range(4)})


def _write_xml(path: str | Path, root: ET.Element) -> Path:
    root.insert(0, ET.Comment(_COMMENT))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return atomic_write_bytes(path, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n")
                              .encode("utf-8"))


def write_instrument_markers(path: str | Path, targets: TargetSet | Iterable[Target]) -> Path:
    """Targets as a Localite InstrumentMarker file (RAS, Localite coil axes); returns the path."""
    root = ET.Element("InstrumentMarkerList", {"coordinateSpace": "RAS"})
    for i, t in enumerate(targets):
        im = ET.SubElement(root, "InstrumentMarker", {"alwaysVisible": "false", "index": str(i),
                                                      "selected": "false"})
        marker = ET.SubElement(im, "Marker", {"additionalInformation": t.notes[:200],
                                              "color": "#ff0000", "description": t.name,
                                              "set": "true"})
        _matrix_element(marker, t.mri_from_target.matrix)
    return _write_xml(path, root)


def _ms_since(start: datetime | None, iso: str) -> tuple[datetime | None, int]:
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return start, 0
    if start is None:
        return t, 0
    return start, int(round((t - start).total_seconds() * 1000))


def write_trigger_markers(path: str | Path, pulses: Sequence[LoggedPulse]) -> Path:
    """Pulses as a Localite TriggerMarker file: one marker per pulse, in order, with its output
    (amplitudeA, % MSO), dI/dt (valueA, A/us) and pose (identity when the pose was unknown)."""
    start, times = None, []
    for p in pulses:
        start, ms = _ms_since(start, p.wall_time_iso)
        times.append(ms)
    attrs = {"coordinateSpace": "RAS", "isOnlineReading": "false"}
    if start is not None:
        utc = start.astimezone(timezone.utc) if start.tzinfo else start
        attrs["startTime"] = utc.strftime("%H:%M:%S.") + f"{utc.microsecond // 10000:02d}"
    root = ET.Element("TriggerMarkerList", attrs)
    params = ET.SubElement(root, "ResponseParameters", {"selectedResponseChannel": "0"})
    for key, name, unit, lo, hi in (("response", "Response", "uV", "-51200.0", "51200.0"),
                                    ("valueA", "Value A (di/dt)", "A/us", "0.0", "200.0"),
                                    ("amplitudeA", "Amplitude A", "%", "0.0", "100.0")):
        ET.SubElement(params, "responseDescription", {"id": key, "maxValue": hi, "minValue": lo,
                                                      "name": name, "unit": unit})
    for p, ms in zip(pulses, times):
        tm = ET.SubElement(root, "TriggerMarker", {
            "color": "#ffafaf", "description": p.target_name or "", "recordingTime": str(ms),
            "selected": "false", "set": "true", "visibility": "true"})
        values = ET.SubElement(tm, "ResponseValues")
        for key, value in (("valueA", p.didt_a_per_us), ("response", None),
                           ("amplitudeA", p.output_pct_mso)):
            ET.SubElement(values, "Value", {"key": key,
                                            "response": "NaN" if value is None else repr(value)})
        _matrix_element(tm, None if p.mri_from_hotspot is None else p.mri_from_hotspot.matrix)
    return _write_xml(path, root)


# ----- reading --------------------------------------------------------------------------------
def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ExchangeError(f"{path.name} is damaged XML ({exc}); export it again from "
                            "Localite") from None


def _ras_from_world(root: ET.Element, path: Path, notes: list[str]) -> np.ndarray:
    space = (root.get("coordinateSpace") or "").strip().upper()
    if space == "RAS":
        return np.eye(4)
    if space == "LPS":
        notes.append("the file is in LPS (a DICOM-based Localite project): converted to RAS by "
                     "flipping x and y")
        return RAS_FROM_LPS
    if not space:
        raise ExchangeError(f"{path.name} does not state its coordinateSpace (RAS or LPS): "
                            "tmsnav will not guess on which side of the head the markers are")
    raise ExchangeError(f"{path.name} is in the coordinate space {space!r}; tmsnav reads RAS "
                        "and LPS only")


def _matrix(element: ET.Element | None, what: str) -> np.ndarray:
    if element is None:
        raise ExchangeError(f"{what}: no <Matrix4D> element")
    m = np.empty((4, 4))
    for r in range(4):
        for c in range(4):
            v = optional_float(element.get(f"data{r}{c}"), f"{what}, data{r}{c}")
            if v is None:
                raise ExchangeError(f"{what}: Matrix4D has no value data{r}{c}")
            m[r, c] = v
    return m


def _our_pose(m: np.ndarray, ras: np.ndarray, what: str) -> np.ndarray:
    return from_vendor(checked_pose(ras @ m, what), "localite")


def read_instrument_markers(path: str | Path) -> ExchangeData:
    """The InstrumentMarkers of a Localite file as targets (markers not ``set`` are skipped)."""
    path = require(path, "localite-instrument")
    root = _parse(path)
    notes: list[str] = []
    ras = _ras_from_world(root, path, notes)
    data = ExchangeData(format="localite-instrument",
                        coordinate_system=root.get("coordinateSpace", ""), notes=notes)
    taken: set[str] = set()
    for n, im in enumerate(root.iter("InstrumentMarker"), 1):
        marker = im.find("Marker")
        if marker is None:
            notes.append(f"instrument marker {n} has no <Marker>: skipped")
            continue
        name = unique_name(marker.get("description") or f"Marker {n}", taken, notes, "marker")
        if (marker.get("set") or "true").lower() == "false":
            notes.append(f"marker {name!r} is not set (no position): skipped")
            continue
        pose = _our_pose(_matrix(marker.find("Matrix4D"), f"{path.name}, marker {name!r}"), ras,
                         f"{path.name}, marker {name!r}")
        data.targets.add(target_from_pose(name, pose, "Localite", path,
                                          notes=marker.get("additionalInformation") or ""))
    if not len(data.targets):
        raise ExchangeError(f"{path.name} is a Localite InstrumentMarker file without any set "
                            "marker")
    return data


def read_trigger_markers(path: str | Path) -> list[ExchangeSample]:
    """One sample per TriggerMarker, in file order (index 1, 2, ...); identity pose = untracked."""
    path = require(path, "localite-trigger")
    root = _parse(path)
    ras = _ras_from_world(root, path, [])
    out: list[ExchangeSample] = []
    for n, tm in enumerate(root.iter("TriggerMarker"), 1):
        what = f"{path.name}, trigger marker {n}"
        m = _matrix(tm.find("Matrix4D"), what)
        untracked = np.allclose(m, np.eye(4), atol=1e-9)
        values = {v.get("key"): v.get("response") for v in tm.iter("Value")}
        didt = optional_float(values.get("valueA"), f"{what}, valueA")
        rec = optional_float(tm.get("recordingTime"), f"{what}, recordingTime")
        out.append(ExchangeSample(
            name=f"Trigger {n}", index=n, target_name=tm.get("description") or None,
            mri_from_hotspot=None if untracked else _our_pose(m, ras, what),
            output_pct_mso=optional_float(values.get("amplitudeA"), f"{what}, amplitudeA"),
            didt_a_per_us=None if didt is None or math.isclose(didt, 0.0) else didt,
            recording_time_ms=rec, source="localite",
            comment="coil not tracked (identity matrix in the file)" if untracked else "",
            response_uv=optional_float(values.get("response"), f"{what}, response")))
    return out
