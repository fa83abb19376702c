"""TMS coil definitions (JSON files in ``assets/coils/``) and coil calibration.

A definition says where the stimulation hotspot sits relative to the coil's tracking marker
(``coil_from_hotspot``), how the windings are laid out (read by the e-field model), which
landmarks on the casing the technician can touch, and the casing/handle size for drawing.

Hotspot frame (docs/design.md): origin at the stimulation point on the coil face, +z into the head
along the coil normal, +y along the handle; so +x is the technician's right when standing at the
handle end looking along it with the coil face-down on the head. The casing occupies negative z
(outside the head); the winding plane is ``winding_depth_mm`` above the face (z = −depth).

Calibration: with the calibrated pointer the technician touches the casing landmarks; each tip
position is expressed in the coil-marker frame (``tip_in_frame(tracker_from_coil, ...)``) and the
rigid map from the definition's hotspot-frame landmarks to those points is ``coil_from_hotspot``
(closed-form fit, :mod:`tmsnav.navigation.registration.rigid`).

Verification (:func:`verify_coil_calibration`): whichever way ``coil_from_hotspot`` was obtained
(the file's nominal mount or a touch calibration) it is checked against the coil in the room
before navigation may use it. The pointer touches the coil's centre mark (the hotspot itself, on
the coil face) and two more casing landmarks spread across the coil; each touch is compared with
where the calibration puts that landmark. A wrong coil file, a marker mounted differently from
the file, or a marker that moved on its clamp shows up as tens of mm and is refused with the
measured mismatch (tolerance 3 mm per landmark and 5° for the coil's orientation: the coil's
own "on target" tolerance in :mod:`tmsnav.navigation.guidance`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from tmsnav.assets import asset_path

from .registration.errors import CalibrationError
from .registration.rigid import fit_rigid
from .targeting.coil_dipoles import read_number, read_windings
from .transforms import Frame, Transform, is_rigid, make_rigid

if TYPE_CHECKING:
    import pyvista as pv

__all__ = ["CoilDefinition", "CoilDefinitionError", "CoilCalibration", "Windings", "BoxSize",
           "calibrate_coil_from_points", "list_coil_definitions", "COIL_ASSETS_DIR",
           "MAX_HOTSPOT_OFFSET_MM", "CALIBRATION_MAX_RMS_MM", "CALIBRATION_MAX_POINT_MM",
           "CoilVerification", "verify_coil_calibration", "verification_landmarks",
           "VERIFY_LANDMARKS", "VERIFY_MAX_DISTANCE_MM", "VERIFY_MAX_ANGLE_RAD"]

#: The shipped coil definitions (package data of ``tmsnav.assets``, found through importlib.resources).
COIL_ASSETS_DIR = asset_path("coils")
FORMAT_VERSION = 1
UNIT_SCALE_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
MAX_HOTSPOT_OFFSET_MM = 500.0
MAX_LANDMARK_DISTANCE_MM = 400.0
CALIBRATION_MAX_RMS_MM = 1.5
CALIBRATION_MAX_POINT_MM = 3.0
MIN_OFF_FACE_MM = 5.0
#: Touched to verify a coil calibration, in this order when the definition has them: the centre
#: mark (the hotspot) first, then two landmarks far from it and from each other (orientation).
VERIFY_LANDMARKS = ("centre", "handle_end", "left_wing_edge")
VERIFY_MAX_DISTANCE_MM = 3.0
VERIFY_MAX_ANGLE_RAD = float(np.deg2rad(5.0))


class CoilDefinitionError(CalibrationError):
    """A coil definition file that is malformed, in unknown units or physically implausible."""


@dataclass(frozen=True)
class Windings:
    """Winding layout (mm). The e-field model reads these names; keep them stable."""

    type: str
    turns_per_wing: int
    inner_radius_mm: float
    outer_radius_mm: float
    wing_centre_separation_mm: float
    winding_depth_mm: float

    def to_dict(self) -> dict:
        return {"type": self.type, "turns_per_wing": self.turns_per_wing,
                "inner_radius_mm": self.inner_radius_mm, "outer_radius_mm": self.outer_radius_mm,
                "wing_centre_separation_mm": self.wing_centre_separation_mm,
                "winding_depth_mm": self.winding_depth_mm}


@dataclass(frozen=True)
class BoxSize:
    length_mm: float       # along x (across the wings) for the casing, along y for the handle
    width_mm: float
    thickness_mm: float

    def to_dict(self) -> dict:
        return {"length_mm": self.length_mm, "width_mm": self.width_mm,
                "thickness_mm": self.thickness_mm}


def _number(d: Mapping, key: str, where: str, scale: float = 1.0) -> float:
    return read_number(d, key, where, scale, CoilDefinitionError)


def _bounded(value: float, lo: float, hi: float, what: str, where: str) -> float:
    if not lo <= value <= hi:
        raise CoilDefinitionError(
            f"{where}: {what} = {value:g} mm is outside the plausible {lo:g}–{hi:g} mm; "
            "check the 'units' field (mm, cm or m) and the value.")
    return value


def _windings(d: object, scale: float, where: str) -> Windings:
    """Read in the file's units, judged in mm by the e-field model's own reader
    (:func:`~tmsnav.navigation.targeting.coil_dipoles.read_windings`): a coil the app lists is a
    coil the e-field accepts."""
    return Windings(**read_windings(d, where, scale, CoilDefinitionError))


def _box(d: object, scale: float, where: str, minimum: float) -> BoxSize:
    if not isinstance(d, Mapping):
        raise CoilDefinitionError(f"{where} must be an object with length_mm, width_mm, "
                                  "thickness_mm")
    return BoxSize(*(_bounded(_number(d, k, where, scale), minimum, 400.0, k, where)
                     for k in ("length_mm", "width_mm", "thickness_mm")))


@dataclass(frozen=True, eq=False)
class CoilCalibration:
    """Result of :func:`calibrate_coil_from_points` (stored in the session)."""

    coil_from_hotspot: Transform
    residual_rms_mm: float
    per_point_errors_mm: dict[str, float]
    model_id: str = ""

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "coil_from_hotspot": self.coil_from_hotspot.to_dict(),
                "residual_rms_mm": float(self.residual_rms_mm),
                "per_point_errors_mm": {k: float(v) for k, v in self.per_point_errors_mm.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> "CoilCalibration":
        return cls(coil_from_hotspot=Transform.from_dict(d["coil_from_hotspot"]),
                   residual_rms_mm=float(d["residual_rms_mm"]),
                   per_point_errors_mm={str(k): float(v)
                                        for k, v in d["per_point_errors_mm"].items()},
                   model_id=str(d.get("model_id", "")))


@dataclass(frozen=True, eq=False)
class CoilDefinition:
    """A coil model; every length in mm (converted from the file's ``units``)."""

    name: str
    model_id: str
    coil_from_hotspot: Transform
    windings: Windings
    landmarks_hotspot_mm: dict[str, np.ndarray]
    casing: BoxSize
    handle: BoxSize
    notes: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)

    # ----- file I/O -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "CoilDefinition":
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CoilDefinitionError(f"Cannot read coil definition {p}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CoilDefinitionError(f"{p.name} is not valid JSON (line {exc.lineno}: "
                                      f"{exc.msg})") from None
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "") -> "CoilDefinition":
        where = Path(source).name if source else "coil definition"
        if not isinstance(data, Mapping):
            raise CoilDefinitionError(f"{where}: expected a JSON object")
        if data.get("format_version") != FORMAT_VERSION:
            raise CoilDefinitionError(f"{where}: format_version must be {FORMAT_VERSION}, got "
                                      f"{data.get('format_version')!r}")
        units = str(data.get("units", "")).strip().lower()
        if units not in UNIT_SCALE_TO_MM:
            raise CoilDefinitionError(
                f"{where}: units {data.get('units')!r} not supported; write 'mm' (or 'cm', 'm'; "
                "inches are not accepted, convert them to mm).")
        scale = UNIT_SCALE_TO_MM[units]
        for key in ("name", "model_id", "coil_from_hotspot", "windings", "landmarks_hotspot_mm",
                    "casing", "handle"):
            if key not in data:
                raise CoilDefinitionError(f"{where}: missing '{key}'")
        windings = _windings(data["windings"], scale, f"{where} windings")
        casing = _box(data["casing"], scale, f"{where} casing", 5.0)
        handle = _box(data["handle"], scale, f"{where} handle", 0.0)
        half_span = windings.wing_centre_separation_mm / 2 + windings.outer_radius_mm
        if half_span > casing.length_mm / 2 + 10.0:
            raise CoilDefinitionError(
                f"{where}: the windings ({2 * half_span:.0f} mm across) do not fit in the casing "
                f"({casing.length_mm:.0f} mm): check the units of each value.")
        return cls(name=str(data["name"]), model_id=str(data["model_id"]),
                   coil_from_hotspot=_hotspot_transform(data["coil_from_hotspot"], scale, where),
                   windings=windings, landmarks_hotspot_mm=_landmarks(
                       data["landmarks_hotspot_mm"], scale, where),
                   casing=casing, handle=handle, notes=str(data.get("notes", "")), source=source,
                   extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS})

    def to_dict(self) -> dict:
        """The definition as a JSON-ready dict in mm (``units`` = "mm")."""
        return {"format_version": FORMAT_VERSION, "name": self.name, "model_id": self.model_id,
                "units": "mm", "coil_from_hotspot": self.coil_from_hotspot.to_dict()["matrix"],
                "windings": self.windings.to_dict(),
                "landmarks_hotspot_mm": {k: [float(x) for x in v]
                                         for k, v in self.landmarks_hotspot_mm.items()},
                "casing": self.casing.to_dict(), "handle": self.handle.to_dict(),
                "notes": self.notes, **self.extra}

    def with_calibration(self, calibration: CoilCalibration) -> "CoilDefinition":
        """A copy whose ``coil_from_hotspot`` is the calibrated one."""
        return replace(self, coil_from_hotspot=calibration.coil_from_hotspot)

    def drawing_mesh(self) -> "pv.PolyData":
        """Casing + handle as a triangulated ``pyvista.PolyData`` in hotspot coordinates (mm).

        Procedural and simple on purpose: round wings (or one disc) with a bridge, the face on
        z = 0 and the casing above it (negative z), the handle leaving along +y.
        """
        import pyvista as pv   # imported here: loading definitions needs no VTK

        c, h = self.casing, self.handle
        thick = c.thickness_mm
        parts = []
        if self.windings.type == "figure8":
            radius = c.width_mm / 2
            cx = max(c.length_mm / 2 - radius, 0.0)
            for x in (-cx, cx):
                parts.append(pv.Cylinder(center=(x, 0, -thick / 2), direction=(0, 0, 1),
                                         radius=radius, height=thick, resolution=48))
            parts.append(pv.Box(bounds=(-cx, cx, -0.6 * radius, 0.6 * radius, -thick, 0.0)))
            y_start = 0.6 * radius
        else:
            radius = c.length_mm / 2
            parts.append(pv.Cylinder(center=(0, 0, -thick / 2), direction=(0, 0, 1),
                                     radius=radius, height=thick, resolution=64))
            y_start = 0.8 * radius
        if h.length_mm > 0 and h.width_mm > 0 and h.thickness_mm > 0:
            z_face = min(-thick / 2 + h.thickness_mm / 2, 0.0)   # never below the coil face
            parts.append(pv.Box(bounds=(-h.width_mm / 2, h.width_mm / 2, y_start,
                                        y_start + h.length_mm, z_face - h.thickness_mm,
                                        z_face)))
        return pv.merge(parts).triangulate().clean()


_KNOWN_KEYS = {"format_version", "name", "model_id", "units", "coil_from_hotspot", "windings",
               "landmarks_hotspot_mm", "casing", "handle", "notes"}


def _hotspot_transform(value: object, scale: float, where: str) -> Transform:
    try:
        m = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise CoilDefinitionError(f"{where}: coil_from_hotspot must be a 4x4 matrix") from None
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise CoilDefinitionError(f"{where}: coil_from_hotspot must be a finite 4x4 matrix")
    if not np.allclose(m[3], [0, 0, 0, 1]) or not is_rigid(m, tol=1e-4):
        raise CoilDefinitionError(f"{where}: coil_from_hotspot is not a rigid transform "
                                  "(rotation part not orthonormal with det +1)")
    m[:3, 3] *= scale
    offset = float(np.linalg.norm(m[:3, 3]))
    if offset >= MAX_HOTSPOT_OFFSET_MM:
        raise CoilDefinitionError(f"{where}: hotspot is {offset:.0f} mm from the coil marker "
                                  f"(limit {MAX_HOTSPOT_OFFSET_MM:.0f} mm): check the units.")
    u, _, vt = np.linalg.svd(m[:3, :3])
    return Transform(Frame.COIL, Frame.HOTSPOT, make_rigid(u @ vt, m[:3, 3]))


def _landmarks(value: object, scale: float, where: str) -> dict[str, np.ndarray]:
    if not isinstance(value, Mapping) or not value:
        raise CoilDefinitionError(f"{where}: landmarks_hotspot_mm must map names to [x, y, z]")
    out = {}
    for name, xyz in value.items():
        try:
            p = np.array(xyz, dtype=float) * scale
        except (TypeError, ValueError):
            raise CoilDefinitionError(f"{where}: landmark '{name}' is not [x, y, z]") from None
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise CoilDefinitionError(f"{where}: landmark '{name}' is not [x, y, z]")
        _bounded(float(np.linalg.norm(p)), 0.0, MAX_LANDMARK_DISTANCE_MM,
                 f"landmark '{name}' distance from the hotspot", where)
        out[str(name)] = p
    return out


def list_coil_definitions(directory: str | Path = COIL_ASSETS_DIR) -> list[CoilDefinition]:
    """Every ``*.json`` definition in ``directory``, sorted by name (bad files raise)."""
    return sorted((CoilDefinition.load(p) for p in Path(directory).glob("*.json")),
                  key=lambda c: c.name)


def calibrate_coil_from_points(touched_in_coil: Mapping[str, Sequence[float]],
                               definition: CoilDefinition, *,
                               max_rms_mm: float = CALIBRATION_MAX_RMS_MM,
                               max_point_mm: float = CALIBRATION_MAX_POINT_MM
                               ) -> CoilCalibration:
    """Fit ``coil_from_hotspot`` from landmarks touched with the pointer (coil-marker frame, mm).

    Needs at least 3 landmarks, one of them ≥ 5 mm off the coil face plane (e.g. ``top_centre``)
    so that touching the left and right wing edges in swapped order shows up as a mirror image
    instead of silently flipping the coil normal.

    :raises CalibrationError: unknown names, too few or flat landmarks, a unit mix-up, a mirrored
        touch order, or residuals above ``max_rms_mm`` / ``max_point_mm`` (the message names
        the worst landmark).
    """
    unknown = [n for n in touched_in_coil if n not in definition.landmarks_hotspot_mm]
    if unknown:
        raise CalibrationError(f"Unknown landmark(s) {', '.join(map(str, unknown))} for "
                               f"{definition.name}; it defines: "
                               f"{', '.join(definition.landmarks_hotspot_mm)}.")
    names = list(touched_in_coil)
    if len(names) < 3:
        raise CalibrationError(f"Touch at least 3 coil landmarks (4 or more recommended); got "
                               f"{len(names)}.")
    model = np.array([definition.landmarks_hotspot_mm[n] for n in names])
    try:
        touched = np.array([np.asarray(touched_in_coil[n], dtype=float) for n in names])
    except (TypeError, ValueError):
        raise CalibrationError("Touched coil landmarks must be (x, y, z) in mm.") from None
    if touched.shape != model.shape or not np.all(np.isfinite(touched)):
        raise CalibrationError("Touched coil landmarks must be finite (x, y, z) in mm.")
    centred = model - model.mean(0)
    sv = np.linalg.svd(centred, compute_uv=False)
    off_plane = float(np.abs(centred @ np.linalg.svd(centred)[2][2]).max())
    if sv[1] < 1e-6 * max(sv[0], 1.0) or off_plane < MIN_OFF_FACE_MM:
        raise CalibrationError(
            "The touched landmarks lie in one plane, so a left/right swap could not be "
            "detected: also touch a landmark off the coil face (e.g. 'top_centre').")
    size_model = np.sqrt(np.mean(np.sum(centred**2, axis=1)))
    size_touched = np.sqrt(np.mean(np.sum((touched - touched.mean(0)) ** 2, axis=1)))
    ratio = size_touched / size_model
    if abs(ratio - 1.0) > 0.1:
        raise CalibrationError(
            f"The touched landmarks span {ratio:.3g}× the size in the coil definition: check "
            "the tracker units (mm) and that the right coil model is selected.")
    fit = fit_rigid(model, touched)
    if fit.mirrored:
        raise CalibrationError(
            "The touched landmarks are a mirror image of the coil definition: left and right "
            "(e.g. the wing edges) were touched in swapped order. Touch them again.")
    errors = {n: float(e) for n, e in zip(names, fit.residuals_mm)}
    worst = max(errors, key=errors.__getitem__)
    if fit.rms_mm > max_rms_mm or errors[worst] > max_point_mm:
        raise CalibrationError(
            f"Coil calibration residual {fit.rms_mm:.2f} mm RMS (limit {max_rms_mm:.1f}); "
            f"'{worst}' is {errors[worst]:.1f} mm off (limit {max_point_mm:.1f}). Touch it "
            "again, or check that the coil model matches the coil in use.")
    return CoilCalibration(coil_from_hotspot=Transform(Frame.COIL, Frame.HOTSPOT, fit.matrix),
                           residual_rms_mm=fit.rms_mm, per_point_errors_mm=errors,
                           model_id=definition.model_id)


# ----- verification ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CoilVerification:
    """The outcome of touching a calibrated coil: per-landmark mismatch and the orientation error.

    ``coil_from_hotspot`` is the calibration that was checked: a verification is only valid for
    that calibration (see :meth:`applies_to`).
    """

    coil_from_hotspot: Transform
    mismatch_mm: dict[str, float]
    angle_rad: float | None
    passed: bool
    message: str
    model_id: str = ""

    @property
    def hotspot_mismatch_mm(self) -> float | None:
        return self.mismatch_mm.get("centre")

    def applies_to(self, coil_from_hotspot: Transform | None) -> bool:
        """True when this verification was made for ``coil_from_hotspot`` (0.01 mm / 0.01°)."""
        return coil_from_hotspot is not None and self.coil_from_hotspot.is_close(
            coil_from_hotspot, atol_mm=0.01, atol_rad=float(np.deg2rad(0.01)))

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "passed": bool(self.passed), "message": self.message,
                "coil_from_hotspot": self.coil_from_hotspot.to_dict(),
                "mismatch_mm": {k: float(v) for k, v in self.mismatch_mm.items()},
                "angle_rad": None if self.angle_rad is None else float(self.angle_rad)}


def verification_landmarks(definition: CoilDefinition) -> list[str]:
    """The landmarks to touch: :data:`VERIFY_LANDMARKS` where the definition has them, filled up
    to three with its other landmarks (farthest from the centre first)."""
    names = [n for n in VERIFY_LANDMARKS if n in definition.landmarks_hotspot_mm]
    rest = sorted((n for n in definition.landmarks_hotspot_mm if n not in names),
                  key=lambda n: -float(np.linalg.norm(definition.landmarks_hotspot_mm[n])))
    return names + rest[:max(0, 3 - len(names))]


def _label(name: str) -> str:
    return name.replace("_", " ")


def verify_coil_calibration(coil_from_hotspot: Transform,
                            touched_in_coil: Mapping[str, Sequence[float]],
                            definition: CoilDefinition, *,
                            max_distance_mm: float = VERIFY_MAX_DISTANCE_MM,
                            max_angle_rad: float = VERIFY_MAX_ANGLE_RAD) -> CoilVerification:
    """Compare pointer touches on the coil (coil-marker frame, mm) with ``coil_from_hotspot``.

    Each touched landmark must lie within ``max_distance_mm`` of where the calibration puts it;
    with three or more landmarks spread over the casing the rotation between the predicted and
    the touched set must be below ``max_angle_rad``. The result says which check failed and by
    how much, in words a technician can act on. Unknown landmark names raise
    :class:`CalibrationError`; at least the centre mark must have been touched.
    """
    if not isinstance(coil_from_hotspot, Transform) or (
            coil_from_hotspot.to_frame, coil_from_hotspot.from_frame) != (Frame.COIL,
                                                                           Frame.HOTSPOT):
        raise CalibrationError("verify_coil_calibration needs the coil_from_hotspot transform")
    unknown = [n for n in touched_in_coil if n not in definition.landmarks_hotspot_mm]
    if unknown:
        raise CalibrationError(f"Unknown landmark(s) {', '.join(map(str, unknown))} for "
                               f"{definition.name}.")
    if "centre" in definition.landmarks_hotspot_mm and "centre" not in touched_in_coil:
        raise CalibrationError("Touch the coil's centre mark (the hotspot) to verify it.")
    names = list(touched_in_coil)
    if not names:
        raise CalibrationError("Touch at least the coil's centre mark to verify it.")
    touched = np.array([np.asarray(touched_in_coil[n], dtype=float).reshape(3) for n in names])
    if not np.all(np.isfinite(touched)):
        raise CalibrationError("Touched coil points must be finite (x, y, z) in mm.")
    predicted = coil_from_hotspot.apply(
        np.array([definition.landmarks_hotspot_mm[n] for n in names]))
    mismatch = {n: float(d) for n, d in zip(names, np.linalg.norm(touched - predicted, axis=1))}
    angle = None
    centred = predicted - predicted.mean(axis=0)
    if len(names) >= 3 and np.linalg.svd(centred, compute_uv=False)[1] > 10.0:
        fit = fit_rigid(predicted, touched)
        angle = float(np.arccos(np.clip((np.trace(fit.matrix[:3, :3]) - 1.0) / 2.0, -1.0, 1.0)))
    worst = max(mismatch, key=mismatch.__getitem__)
    if "centre" in mismatch and mismatch["centre"] > max_distance_mm:
        message = (f"The coil calibration puts the hotspot {mismatch['centre']:.0f} mm from where "
                   "the pointer touched the coil's centre mark: wrong coil file or the marker "
                   f"moved (limit {max_distance_mm:g} mm). Choose the right coil, or calibrate "
                   "by touching the landmarks.")
    elif mismatch[worst] > max_distance_mm:
        message = (f"The coil calibration puts the {_label(worst)} {mismatch[worst]:.0f} mm from "
                   "where the pointer touched it: the coil is turned or tilted against its "
                   f"marker (limit {max_distance_mm:g} mm). Calibrate by touching the landmarks.")
    elif angle is not None and angle > max_angle_rad:
        message = (f"The coil's orientation differs by {np.rad2deg(angle):.1f}° from its "
                   f"calibration (limit {np.rad2deg(max_angle_rad):g}°): the marker moved. "
                   "Calibrate by touching the landmarks.")
    else:
        turn = "" if angle is None else f", orientation within {np.rad2deg(angle):.1f}°"
        return CoilVerification(coil_from_hotspot, mismatch, angle, True,
                                f"Coil verified: hotspot within {mismatch.get('centre', 0.0):.1f}"
                                f" mm, worst landmark {mismatch[worst]:.1f} mm{turn}.",
                                definition.model_id)
    return CoilVerification(coil_from_hotspot, mismatch, angle, False, message,
                            definition.model_id)
