"""The clinic record in the main window: one call from ``MainWindow.__init__``.

:func:`install_records` adds File > Patients… (Ctrl+Shift+R), the "Records:" status indicator,
the previous sessions' pulses on the Navigate view, and opens the clinic database in the
background; :meth:`RecordsUi.shutdown` (from ``closeEvent``) stops the sync, closes the database
and releases the open session's folder lock. Kept out of ``main_window.py`` so that file stays
small.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from .controller import RecordsController
from .patients_window import PatientsWindow
from .previous_pulses import PreviousPulses

__all__ = ["install_records", "RecordsUi"]


class RecordsUi(QtCore.QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.controller = RecordsController(window, self)
        self.patients_window: PatientsWindow | None = None
        self.action = QtGui.QAction("&Patients…", window)
        self.action.setObjectName("patients_action")
        # Ctrl+Shift+R ("records"): Ctrl+Shift+P is View > Workflow panel (a shared shortcut fires neither)
        self.action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+R"))
        self.action.triggered.connect(self.show_patients)
        menu = window.file_menu
        after = next((a for a in menu.actions() if a.text() == "Close session"), None)
        actions = menu.actions()
        if after is not None and actions.index(after) + 1 < len(actions):
            menu.insertAction(actions[actions.index(after) + 1], self.action)
        else:
            menu.addAction(self.action)
        self.previous_pulses = PreviousPulses(window, self.controller, self)
        self.controller.open()

    def show_patients(self) -> PatientsWindow:
        if self.patients_window is None:
            self.patients_window = PatientsWindow(self.window, self.controller, self.window)
        self.patients_window.show()
        self.patients_window.raise_()
        self.patients_window.activateWindow()
        return self.patients_window

    def course_source(self):
        """(records, course uid) for File > Export course as BIDS: the open session's course, else
        the course selected in the patients window; None when there is neither (or no database)."""
        from .exchange_actions import open_course

        found = open_course(self.window)
        if found is not None:
            return found
        records = self.controller.records
        uid = self.patients_window.selected_course() if self.patients_window is not None else None
        return None if records is None or uid is None else (records, uid)

    def shutdown(self) -> None:
        if self.patients_window is not None:
            self.patients_window.close()
        self.controller.shutdown()
        self.window.sessions.release_lock()


def install_records(window) -> RecordsUi:
    return RecordsUi(window)
