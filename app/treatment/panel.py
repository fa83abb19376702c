"""The Treatment tab: stimulator, pulse sources, the live pulse log, cues and the session summary.

Every pulse from any source goes to one :class:`~.pulse_recorder.PulseRecorder` on the source's
own thread, which pairs it with the coil pose live at that instant and writes it to the open
session's event log; the view below refreshes from the log at most every
:data:`REFRESH_MS` so a fast train never delays a click. The tolerance is the Navigate tab's
("On target within"), so a pulse is "on target" exactly when the bullseye was green.

Other boxes (the motor hotspot and threshold tools) are added with :meth:`TreatmentPanel.add_section`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.guidance import Tolerance
from tmsnav.navigation.treatment.pulse_log import LoggedPulse

from .cues import Cues
from .motor_box import MotorBox
from .pulse_log_view import PulseLogView
from .pulse_recorder import PulseRecorder
from .pulse_sources_box import PulseSourcesBox
from .stimulator_box import StimulatorBox
from .summary import SummaryDialog

__all__ = ["TreatmentPanel", "REFRESH_MS"]

REFRESH_MS = 100


class TreatmentPanel(QtWidgets.QWidget):
    """Built by the main window after the Navigate tab (it follows that tab's tolerance)."""

    pulsesShown = QtCore.Signal(object)        # PulseStatistics after each refresh (chairside view)

    def __init__(self, window, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("treatment_panel")
        self.main_window = window
        self.state = window.state
        self.recorder = PulseRecorder(window, self)
        layout = self._layout = QtWidgets.QVBoxLayout(self)
        self.session_note = QtWidgets.QLabel("No session open: pulses are shown but not saved. "
                                             "Use File > New session before treating.")
        self.session_note.setObjectName("treatment_session_note")
        self.session_note.setWordWrap(True)
        self.session_note.setStyleSheet("color: #b00020; font-weight: bold")
        layout.addWidget(self.session_note)
        self.state.sessionChanged.connect(lambda session: self.session_note.setVisible(session is None))
        self.session_note.setVisible(self.state.session is None)
        self.stimulator = StimulatorBox(window)
        self.stimulator.bridge.pulse_sink = self.recorder.submit
        layout.addWidget(self.stimulator)
        self.sources = PulseSourcesBox(self.recorder.submit)
        layout.addWidget(self.sources)
        self.log_view = PulseLogView()
        layout.addWidget(self.log_view, 1)
        self.cues = Cues()
        layout.addWidget(self.cues)
        self.end_button = QtWidgets.QPushButton("End treatment: show summary")
        self.end_button.setObjectName("treatment_end")
        self.end_button.clicked.connect(self.show_summary)
        layout.addWidget(self.end_button)
        self.summary: SummaryDialog | None = None

        guidance = window.guidance_panel
        self.tolerance: Tolerance = guidance.bullseye.tolerance
        self._set_tolerance(self.tolerance)
        guidance.toleranceChanged.connect(self._set_tolerance)
        guidance.guidanceChanged.connect(self.cues.guidance)
        self._refresh = QtCore.QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.refresh)
        self.state.sessionChanged.connect(lambda _s: self._refresh.start())   # a new sitting counts from 0
        self.recorder.pulseLogged.connect(self._pulse_logged)
        self.motor_box = MotorBox(window, bridge=self.stimulator.bridge, recorder=self.recorder)
        self.add_section(self.motor_box)

    def add_section(self, widget: QtWidgets.QWidget) -> None:
        """Add a box below the pulse log (e.g. the motor hotspot and threshold tools)."""
        self._layout.insertWidget(self._layout.indexOf(self.cues), widget)

    def _set_tolerance(self, tolerance: Tolerance) -> None:
        self.tolerance = tolerance
        self.recorder.set_tolerance(tolerance)
        self.cues.set_tolerance(tolerance)

    def _pulse_logged(self, _pulse: LoggedPulse) -> None:
        if not self._refresh.isActive():
            self._refresh.start()

    def refresh(self) -> None:
        st = self.log_view.show_pulses(self.recorder.log.pulses, self.tolerance.distance_mm)
        chairside = getattr(self.main_window, "chairside", None)    # built after this tab
        if chairside is not None:
            pct = None if st.fraction_on_target is None else 100 * st.fraction_on_target
            chairside.view.set_pulses(st.n, pct)
        self.pulsesShown.emit(st)

    def show_summary(self) -> SummaryDialog:
        """The end-of-session summary (non-modal), recorded in the open session."""
        self.refresh()
        dialog = SummaryDialog(self.recorder.log.statistics(), self.tolerance, self.state.session, self)
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.open()
        self.summary = dialog
        return dialog

    def shutdown(self) -> None:
        """Window closing: disarm and close the stimulator, stop the sources."""
        self.stimulator.shutdown()
        self.sources.shutdown()
        self.motor_box.shutdown()
        self.recorder.stop()
