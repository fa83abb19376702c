"""One small form per way of adding a target. ``build(ctx, name)`` checks the inputs on the GUI
thread (raising :class:`NavigationError` with the module's own message) and returns the job that
computes the target on the worker thread: ``job(progress=, cancel=) -> PlanResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PySide6 import QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.progress import report
from tmsnav.navigation.targeting import literature
from tmsnav.navigation.targeting.beam_f3 import BeamMeasurements, beam_f3_target
from tmsnav.navigation.targeting.five_cm import five_cm_target
from tmsnav.navigation.targeting.planning import (LandmarkChoice, head_axes_from, landmarks_from,
                                                  mni_to_mri, point_target, unique_name)
from tmsnav.navigation.targeting.targets import Target
from tmsnav.navigation.targeting.ten_twenty import compute_ten_twenty, ten_twenty_target

from .context import PlanContext

__all__ = ["compact", "PlanResult", "MethodForm", "LiteratureForm", "TenTwentyForm", "BeamForm", "FiveCmForm",
           "ManualForm", "TEN_TWENTY_CHOICES"]

TEN_TWENTY_CHOICES = ("F3", "F4", "FC3", "FC4", "C3", "C4", "Fz", "Cz", "AF3", "AF4", "F1", "F2",
                      "F5", "F6", "FC1", "FC2", "FC5", "FC6", "Fp1", "Fp2", "F7", "F8", "T7", "T8",
                      "CP3", "CP4", "P3", "P4", "Pz", "O1", "O2", "Oz")


@dataclass
class PlanResult:
    target: Target
    messages: list[str] = field(default_factory=list)
    landmarks: LandmarkChoice | None = None


Job = Callable[..., PlanResult]


def _named(target: Target, ctx: PlanContext, name: str, notes: list[str] | tuple = ()) -> Target:
    final = name.strip() or unique_name(ctx.existing_names, target.name)
    extra = "; ".join(n for n in (target.notes, *notes) if n)
    return target.with_changes(name=final, notes=extra)


def _axes_message(axes) -> list[str]:
    return [] if axes is not None else ["no nasion/LPA/RPA: the handle direction follows the image "
                                        "axes, check it"]


def _wrap(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    return label


def compact(combo: QtWidgets.QComboBox, chars: int = 14) -> QtWidgets.QComboBox:
    """Let a combo with long entries shrink to the narrow side panel (the popup stays wide)."""
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    combo.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
    return combo


def _form(widget: QtWidgets.QWidget) -> QtWidgets.QFormLayout:
    form = QtWidgets.QFormLayout(widget)
    form.setContentsMargins(0, 0, 0, 0)
    form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class MethodForm(QtWidgets.QWidget):
    """What every form offers the "Add a target" box: its title in the method list and
    :meth:`build`. A plain base class, not an ABC: ABCMeta and Qt's metaclass do not mix."""

    title = ""
    #: Every form defines ``build(ctx, name)``: check the inputs (raise
    #: :class:`NavigationError`) and return the worker job.
    build: Callable[[PlanContext, str], Job]


class LiteratureForm(MethodForm):
    title = "Published MNI coordinate"

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form(self)
        self.entry = compact(QtWidgets.QComboBox())
        self.entry.setObjectName("literature_entry")
        for e in literature.LIBRARY:
            x, y, z = e.mni_mm
            self.entry.addItem(f"{e.name}  ({x:g}, {y:g}, {z:g})", e.key)
        self.entry.currentIndexChanged.connect(self._show_entry)
        form.addRow("Target", self.entry)
        self.info = _wrap("")
        self.info.setObjectName("literature_info")
        form.addRow(self.info)
        self._show_entry()

    def selected(self) -> literature.LiteratureTarget:
        return literature.get(self.entry.currentData())

    def select_key(self, key: str) -> None:
        self.entry.setCurrentIndex(self.entry.findData(key))

    def _show_entry(self) -> None:
        e = self.selected()
        text = f"<b>Why:</b> {e.evidence.why}<br><i>{e.citation}</i>"
        if e.doi:
            text += f" doi:{e.doi}"
        if not e.stimulable:
            text = f"<span style='color:#c62828'><b>Not a stimulation target.</b></span> {text}"
        self.info.setText(text)

    def build(self, ctx: PlanContext, name: str) -> Job:
        entry = self.selected()
        if not entry.stimulable:
            raise NavigationError(f"{entry.name} cannot be a coil target: {entry.why}")
        if ctx.mri_from_mni is None:
            raise NavigationError("Published targets are MNI coordinates: register the image to "
                                  "MNI first (MNI registration, at the top of this tab).")
        axes = ctx.head_axes_or_none()
        mri_from_mni = ctx.mri_from_mni       # the checked transform, whatever ctx holds later

        def job(progress=None, cancel=None) -> PlanResult:
            report(progress, 0.2, "mapping the MNI coordinate", cancel)
            t = literature.map_to_patient(entry, mri_from_mni, ctx.geometry.scalp,
                                          ctx.geometry.brain, head_axes=axes)
            return PlanResult(_named(t, ctx, name), _axes_message(axes))
        return job


class _LandmarkJob:
    """Shared head: landmarks (estimating the inion if needed) then the 10-20 arcs."""

    @staticmethod
    def check(ctx: PlanContext) -> None:
        head_axes_from(ctx.geometry.fiducials, ctx.landmark_overrides)   # missing/swapped -> raise

    @staticmethod
    def ten_twenty(ctx: PlanContext, progress, cancel):
        report(progress, 0.1, "landmarks", cancel)
        choice = landmarks_from(ctx.geometry.fiducials, ctx.geometry.scalp, ctx.landmark_overrides)
        report(progress, 0.3, "10-20 arcs on the scalp", cancel)
        return choice, compute_ten_twenty(ctx.geometry.scalp, choice.landmarks)


class TenTwentyForm(MethodForm):
    title = "10-20 / 10-10 position"

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form(self)
        self.position = compact(QtWidgets.QComboBox())
        self.position.setObjectName("ten_twenty_position")
        self.position.addItems(TEN_TWENTY_CHOICES)
        form.addRow("Position", self.position)
        form.addRow(_wrap("Measured on this patient's scalp from the nasion, inion, LPA and RPA "
                          "(landmarks below). F3 is the usual scalp proxy for left DLPFC."))

    def build(self, ctx: PlanContext, name: str) -> Job:
        _LandmarkJob.check(ctx)
        position = self.position.currentText()

        def job(progress=None, cancel=None) -> PlanResult:
            choice, tt = _LandmarkJob.ten_twenty(ctx, progress, cancel)
            report(progress, 0.9, "cortex under the coil", cancel)
            t = ten_twenty_target(tt, position, brain_mesh=ctx.geometry.brain)
            return PlanResult(_named(t, ctx, name, choice.notes), list(choice.notes), choice)
        return job


class BeamForm(MethodForm):
    title = "Beam F3 (tape measurements)"

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form(self)
        self.use_mesh = QtWidgets.QRadioButton("Measure on the MRI scalp")
        self.use_typed = QtWidgets.QRadioButton("Typed tape measurements (cm)")
        self.use_mesh.setChecked(True)
        form.addRow(self.use_mesh)
        form.addRow(self.use_typed)
        self.tt, self.ni, self.hc = (QtWidgets.QDoubleSpinBox() for _ in range(3))
        for box, value, label, key in ((self.tt, 36.0, "Tragus-tragus (TT)", "beam_tt"),
                                       (self.ni, 37.0, "Nasion-inion (NI)", "beam_ni"),
                                       (self.hc, 57.0, "Circumference (HC)", "beam_hc")):
            box.setObjectName(key)
            box.setRange(0.0, 9999.0)   # implausible values reach the module, which explains them
            box.setDecimals(1)
            box.setSuffix(" cm")
            box.setValue(value)
            form.addRow(label, box)
        self.formula = compact(QtWidgets.QComboBox())
        self.formula.addItem("Web calculator (Beam 2009)", "web")
        self.formula.addItem("Linear approximation", "linear")
        form.addRow("Formula", self.formula)
        self.adjust = QtWidgets.QCheckBox("+0.35 cm on Y (Mir-Moghtadaei 2015)")
        form.addRow(self.adjust)

    def set_typed(self, tt_cm: float, ni_cm: float, hc_cm: float) -> None:
        self.use_typed.setChecked(True)
        for box, v in ((self.tt, tt_cm), (self.ni, ni_cm), (self.hc, hc_cm)):
            box.setValue(v)

    def build(self, ctx: PlanContext, name: str) -> Job:
        measurements = None
        if self.use_typed.isChecked():
            measurements = BeamMeasurements(self.tt.value(), self.ni.value(), self.hc.value())
        _LandmarkJob.check(ctx)
        method, adjust = self.formula.currentData(), self.adjust.isChecked()

        def job(progress=None, cancel=None) -> PlanResult:
            choice, tt = _LandmarkJob.ten_twenty(ctx, progress, cancel)
            report(progress, 0.8, "Beam F3 on the scalp", cancel)
            t = beam_f3_target(ctx.geometry.scalp, tt, measurements, method=method,
                               mir_moghtadaei_adjustment=adjust, brain_mesh=ctx.geometry.brain)
            messages = list(choice.notes)
            if "WARNING" in t.notes:
                messages.append(t.notes[t.notes.index("WARNING"):])
            return PlanResult(_named(t, ctx, name, choice.notes), messages, choice)
        return job


class FiveCmForm(MethodForm):
    title = "5-cm rule (from the motor hotspot)"
    HOTSPOTS = (("m1_hand_left", "Left M1 hand knob (MNI, needs registration)"),
                ("m1_hand_right", "Right M1 hand knob (MNI, needs registration)"),
                ("cursor", "Cursor (the hotspot found by stimulation)"))

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form(self)
        self.hotspot = compact(QtWidgets.QComboBox())
        self.hotspot.setObjectName("five_cm_hotspot")
        for key, label in self.HOTSPOTS:
            self.hotspot.addItem(label, key)
        form.addRow("Hotspot", self.hotspot)
        self.distance = compact(QtWidgets.QComboBox())
        self.distance.setObjectName("five_cm_distance")
        for cm in (5.0, 5.5, 6.0):
            self.distance.addItem(f"{cm:g} cm anterior", cm)
        form.addRow("Rule", self.distance)
        form.addRow(_wrap("Historic rule: often lands on premotor cortex (Herwig 2001). Prefer "
                          "F3 / Beam F3 or an MRI target when available."))

    def build(self, ctx: PlanContext, name: str) -> Job:
        axes = head_axes_from(ctx.geometry.fiducials, ctx.landmark_overrides)
        key, distance_mm = self.hotspot.currentData(), 10.0 * float(self.distance.currentData())
        entry = None if key == "cursor" else literature.get(key)
        mri_from_mni = ctx.mri_from_mni
        if entry is not None and mri_from_mni is None:
            raise NavigationError("The M1 hand knob is an MNI coordinate: register the image to MNI "
                                  "first, or put the cursor on the hotspot and choose 'Cursor'.")
        cursor = ctx.cursor_mm.copy()

        def job(progress=None, cancel=None) -> PlanResult:
            report(progress, 0.2, "motor hotspot on the scalp", cancel)
            if entry is None or mri_from_mni is None:
                hotspot = point_target("hotspot", cursor, ctx.geometry.scalp, head_axes=axes)
                where = f"cursor ({cursor[0]:+.1f}, {cursor[1]:+.1f}, {cursor[2]:+.1f})"
            else:
                hotspot = literature.map_to_patient(entry, mri_from_mni, ctx.geometry.scalp,
                                                    head_axes=axes)
                where = entry.name
            report(progress, 0.5, "walking anterior along the scalp", cancel)
            t = five_cm_target(ctx.geometry.scalp, hotspot.scalp_point_mm, axes, distance_mm,
                               brain_mesh=ctx.geometry.brain)
            return PlanResult(_named(t, ctx, name, [f"hotspot: {where}"]))
        return job


class ManualForm(MethodForm):
    title = "Manual (cursor or coordinate)"
    SOURCES = (("cursor", "Cursor position"), ("mri", "Typed patient mri coordinate (mm)"),
               ("mni", "Typed MNI coordinate (mm)"))

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form(self)
        self.source = compact(QtWidgets.QComboBox())
        self.source.setObjectName("manual_source")
        for key, label in self.SOURCES:
            self.source.addItem(label, key)
        form.addRow("Where", self.source)
        form.addRow(QtWidgets.QLabel("x, y, z (RAS mm: +x right, +y anterior, +z up)"))
        row = QtWidgets.QHBoxLayout()
        self.xyz = []
        for axis in "xyz":
            box = QtWidgets.QDoubleSpinBox()
            box.setObjectName(f"manual_{axis}")
            box.setRange(-300.0, 300.0)
            box.setDecimals(1)
            box.setPrefix(f"{axis} ")
            box.setMinimumWidth(70)
            row.addWidget(box)
            self.xyz.append(box)
        form.addRow(row)
        self.cursor_info = _wrap("")
        self.cursor_info.setObjectName("manual_cursor_info")
        form.addRow(self.cursor_info)
        form.addRow(_wrap("A point inside the head is the cortex target (coil at the closest scalp "
                          "point); a point on the scalp is the coil position."))

    def set_typed(self, source: str, xyz) -> None:
        self.source.setCurrentIndex(self.source.findData(source))
        for box, v in zip(self.xyz, xyz):
            box.setValue(float(v))

    def show_cursor(self, mri_mm: np.ndarray, mni_mm: np.ndarray | None) -> None:
        text = "Cursor: mri ({:+.1f}, {:+.1f}, {:+.1f})".format(*mri_mm)
        text += "" if mni_mm is None else "  MNI ({:+.1f}, {:+.1f}, {:+.1f})".format(*mni_mm)
        self.cursor_info.setText(text)

    def build(self, ctx: PlanContext, name: str) -> Job:
        source = self.source.currentData()
        typed = np.array([b.value() for b in self.xyz])
        mni = None
        if source == "cursor":
            point = ctx.cursor_mm.copy()
        elif source == "mri":
            point = typed
        else:
            if ctx.mri_from_mni is None:
                raise NavigationError("An MNI coordinate needs the MNI registration: register the "
                                      "image to MNI first (top of this tab).")
            mni, point = typed, mni_to_mri(ctx.mri_from_mni, typed)
        axes = ctx.head_axes_or_none()
        label = {"cursor": "cursor", "mri": "typed mri coordinate", "mni": "typed MNI coordinate"}[source]

        def job(progress=None, cancel=None) -> PlanResult:
            report(progress, 0.3, "coil position over the point", cancel)
            t = point_target("Manual", point, ctx.geometry.scalp, brain=ctx.geometry.brain,
                             head_axes=axes, mni_point_mm=mni, notes=f"from the {label}")
            return PlanResult(_named(t, ctx, name), _axes_message(axes))
        return job
