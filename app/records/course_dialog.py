"""New course from the current plan: the protocol form.

The course takes its plan (MRI, targets, calibrations, MNI transform) from the session open now
(:func:`tmsnav.navigation.records.today.plan_course_from_session`); this form adds the protocol:
which of the plan's targets is treated, intensity as % of the resting motor threshold, pattern,
frequency, pulses per session, sessions planned and per day.

Presets fill the form with published protocols; every field stays editable:

- 10 Hz: 120 % rMT, 3000 pulses per session (75 trains of 4 s), 5 sessions a week for 6 weeks
  (O'Reardon et al. 2007, Biol Psychiatry 62:1208).
- iTBS: 120 % rMT, 600 pulses (triplets at 50 Hz repeated at 5 Hz, 2 s on, 8 s off), 30 sessions
  (Blumberger et al. 2018, Lancet 391:1683, THREE-D).
- Accelerated iTBS (SAINT): 90 % rMT, 1800 pulses per session, 10 sessions a day for 5 days
  (Cole et al. 2020, Am J Psychiatry 177:716).
- 1 Hz right DLPFC: 110 % rMT, 1200 pulses (a common inhibitory protocol; set what your clinic uses).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from .form_footer import add_message_and_buttons

__all__ = ["CourseDialog", "PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    label: str
    pattern: str
    intensity_pct_rmt: float
    frequency_hz: float | None
    pulses_per_session: int
    sessions_planned: int
    sessions_per_day: int = 1


PRESETS = (
    Preset("10 Hz (O'Reardon 2007)", "10 Hz", 120.0, 10.0, 3000, 30),
    Preset("iTBS (Blumberger 2018)", "iTBS", 120.0, 50.0, 600, 30),
    Preset("Accelerated iTBS (SAINT, Cole 2020)", "iTBS", 90.0, 50.0, 1800, 50, 10),
    Preset("1 Hz", "1 Hz", 110.0, 1.0, 1200, 30),
)
PATTERNS = ("10 Hz", "iTBS", "1 Hz", "cTBS", "20 Hz", "5 Hz")


class CourseDialog(QtWidgets.QDialog):
    """Emits ``submitted(protocol kwargs, indication, notes)``; the owner plans the course and
    calls :meth:`done_ok`, or :meth:`refuse` with the reason."""

    submitted = QtCore.Signal(dict, str, str)

    def __init__(self, target_names: list[str], active: str | None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New course from the current plan")
        self.setObjectName("course_dialog")
        form = QtWidgets.QFormLayout(self)
        self.preset = QtWidgets.QComboBox()
        self.preset.addItem("(choose a published protocol)", None)
        for p in PRESETS:
            self.preset.addItem(p.label, p)
        self.preset.currentIndexChanged.connect(self._apply_preset)
        self.target = QtWidgets.QComboBox()
        self.target.setObjectName("course_target")
        for name in target_names:
            self.target.addItem(name, name)
        if active is not None and self.target.findData(active) >= 0:
            self.target.setCurrentIndex(self.target.findData(active))
        self.intensity = self._spin(1, 200, 120, " % rMT")
        self.pattern = QtWidgets.QComboBox()
        self.pattern.setEditable(True)
        self.pattern.addItems(PATTERNS)
        self.frequency = QtWidgets.QDoubleSpinBox()
        self.frequency.setRange(0.0, 100.0)
        self.frequency.setDecimals(1)
        self.frequency.setSuffix(" Hz")
        self.frequency.setSpecialValueText("not given")
        self.frequency.setValue(10.0)
        self.pulses = self._spin(1, 100_000, 3000, " pulses")
        self.sessions = self._spin(1, 500, 30, " sessions")
        self.per_day = self._spin(1, 20, 1, " per day")
        self.indication = QtWidgets.QLineEdit("major depressive disorder")
        self.notes = QtWidgets.QLineEdit()
        form.addRow("Preset", self.preset)
        form.addRow("Target", self.target)
        form.addRow("Intensity", self.intensity)
        form.addRow("Pattern", self.pattern)
        form.addRow("Frequency", self.frequency)
        form.addRow("Pulses per session", self.pulses)
        form.addRow("Sessions planned", self.sessions)
        form.addRow("Sessions per day", self.per_day)
        form.addRow("Indication", self.indication)
        form.addRow("Notes", self.notes)
        self.message, self.ok_button = add_message_and_buttons(self, form, object_name="course_message",
                                                               ok_text="Create course", submit=self.submit)
        if not target_names:
            self.refuse("The plan has no target: add one in Plan > Targets first.")
            self.ok_button.setEnabled(False)

    @staticmethod
    def _spin(lo: int, hi: int, value: int, suffix: str) -> QtWidgets.QSpinBox:
        box = QtWidgets.QSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        box.setSuffix(suffix)
        return box

    def _apply_preset(self) -> None:
        p = self.preset.currentData()
        if p is None:
            return
        self.intensity.setValue(int(p.intensity_pct_rmt))
        self.pattern.setCurrentText(p.pattern)
        self.frequency.setValue(p.frequency_hz or 0.0)
        self.pulses.setValue(p.pulses_per_session)
        self.sessions.setValue(p.sessions_planned)
        self.per_day.setValue(p.sessions_per_day)

    def protocol_fields(self) -> dict:
        """The :class:`CourseProtocol` keyword arguments."""
        freq = self.frequency.value()
        return {"target_name": str(self.target.currentData() or ""),
                "intensity_pct_rmt": float(self.intensity.value()),
                "pattern": self.pattern.currentText().strip(),
                "frequency_hz": float(freq) if freq > 0 else None,
                "pulses_per_session": int(self.pulses.value()),
                "sessions_planned": int(self.sessions.value()),
                "sessions_per_day": int(self.per_day.value())}

    def submit(self) -> None:
        fields = self.protocol_fields()
        if not fields["target_name"]:
            self.refuse("Choose the target this course treats.")
            return
        if not fields["pattern"]:
            self.refuse("Give the stimulation pattern (e.g. 10 Hz or iTBS).")
            return
        if fields["sessions_per_day"] > fields["sessions_planned"]:
            self.refuse("More sessions per day than sessions planned: check both numbers.")
            return
        self.message.setText("")
        self.ok_button.setEnabled(False)
        self.submitted.emit(fields, self.indication.text().strip(), self.notes.text().strip())

    def refuse(self, message: str) -> None:
        self.message.setText(message)
        self.ok_button.setEnabled(True)

    def done_ok(self) -> None:
        self.accept()
