"""File menu for sessions: new, open (with "restore unsaved changes?"), save, and autosave.

Opening a session reloads its T1, targets, MNI transform and tool calibrations. The head
registration is *not* re-applied: the reference marker is re-attached at every sitting, so the
technician registers again (the old result stays in the session file and the log).

An open session's folder is locked (:mod:`tmsnav.app.records.session_open`): a folder another
tmsnav holds is refused with who holds it; a damaged ``session.json`` offers its last good
autosave (the damaged file is kept aside). File > Close session marks a course session closed in
its log and lets go of the lock; :meth:`SessionController.load` shows a session opened elsewhere
(today's session of a course) exactly as File > Open does.

Closing the window with work that is in no saved session file (``AppState.unsaved``: targets
planned without a session, a save the disk refused) asks Save / Discard / Cancel
(``MainWindow.closeEvent``); Save goes through :meth:`SessionController.save_or_create`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.session import Session
from tmsnav.navigation.session.restore import RestoredSession, restore_session

log = logging.getLogger(__name__)

__all__ = ["SessionController"]

AUTOSAVE_MS = 60_000


class SessionController(QtCore.QObject):
    sessionOpened = QtCore.Signal(object)   # Session
    sessionClosed = QtCore.Signal(object)   # Session (File > Close session)

    def __init__(self, window, menu: QtWidgets.QMenu) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self._pending: RestoredSession | None = None
        self._lock = None          # navigation.session.lock.SessionLock of the open folder
        actions = []
        for text, slot, key in (("&New session…", self.choose_new, "Ctrl+N"),
                                ("Open se&ssion…", self.choose_open, "Ctrl+Shift+E"),
                                ("Save session", self.save, QtGui.QKeySequence.StandardKey.Save),
                                ("Close session", self.close_session, None)):
            act = QtGui.QAction(text, window)
            if key is not None:
                act.setShortcut(QtGui.QKeySequence(key))
            act.triggered.connect(slot)
            actions.append(act)
        if menu.actions():                      # session actions first, above the file actions
            first = menu.actions()[0]
            menu.insertActions(first, actions)
            menu.insertSeparator(first)
        else:
            menu.addActions(actions)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)
        window.headLoaded.connect(self._apply_pending)

    # ----- actions ------------------------------------------------------------------------
    def choose_new(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Folder for the new session")
        if not folder:
            return
        patient, ok = QtWidgets.QInputDialog.getText(self.window, "New session", "Patient ID:")
        if ok:
            self.create(Path(folder) / patient.strip(), patient.strip())

    def choose_open(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open a session folder")
        if folder:
            self.open(folder)

    def create(self, folder: str | Path, patient_id: str) -> Session | None:
        try:
            session = Session.create(folder, patient_id)
        except NavigationError as exc:
            self.window.show_error("Cannot create the session", str(exc))
            return None
        from .records.session_open import lock_folder

        self.release_lock()
        self._lock = lock_folder(session.folder)
        self.state.set_session(session)
        self.state.record_all()
        self.state.save_session()            # everything so far is now on disk
        self.timer.start()
        self.window.setWindowTitle(f"tmsnav — {patient_id}")
        self.sessionOpened.emit(session)
        return session

    def open(self, folder: str | Path, restore_autosave: bool | None = None,
             use_last_good: bool | None = None) -> Session | None:
        """``restore_autosave``: None asks the user when a newer autosave exists.
        ``use_last_good``: a damaged ``session.json`` opens from its last good autosave (None
        asks; the damaged file is kept aside, never deleted)."""
        from .records.session_open import open_locked

        opened = open_locked(self.window, folder, use_last_good)
        if opened is None:
            return None
        session, lock = opened
        return self.load(session, restore_autosave, lock)

    def load(self, session: Session, restore_autosave: bool | None = None, lock=None) -> Session:
        """Show an opened session as File > Open does (today's session of a course comes here):
        MRI, targets, calibrations, MNI transform; never the old head registration. ``lock``:
        the session's folder lock, released when another session replaces it or on close."""
        self.release_lock()
        self._lock = lock
        if self.state.registration is not None:      # a new sitting: the marker was re-attached
            self.state.set_registration(None)
        newer = session.newer_autosave()
        if newer is not None:
            if restore_autosave is None:
                answer = QtWidgets.QMessageBox.question(
                    self.window, "Restore unsaved changes?",
                    f"This session has changes saved automatically at {newer.stem[8:]} UTC that were "
                    "never saved by hand (the program may have closed unexpectedly). Restore them?")
                restore_autosave = answer == QtWidgets.QMessageBox.StandardButton.Yes
            if restore_autosave:
                session.restore_autosave(newer)
        restored = restore_session(session.record)
        self.state.set_session(session)
        self.timer.start()
        self.window.setWindowTitle(f"tmsnav — {session.record.patient_id}")
        notes = list(restored.warnings)
        if restored.registration is not None:
            notes.append(f"The registration of {restored.registration.timestamp[:16]} is kept in the "
                         "session file but not applied: register the patient again for this sitting.")
        if notes:
            self.window.show_problem(" ".join(notes))
        self._pending = restored
        if restored.image_path and Path(restored.image_path).exists():
            self.window.open_image(restored.image_path)
        elif restored.image_path:
            self.window.show_error("Session image not found",
                                   f"The MRI of this session is not at {restored.image_path}. Open it "
                                   "with File > Open; tmsnav checks it is the same image (sha256).")
        self.sessionOpened.emit(session)
        return session

    def close_session(self) -> None:
        """File > Close session: a course session is marked closed in its log (then indexed
        into the clinic record); the folder lock is released."""
        session = self.state.session
        if session is None:
            return
        if getattr(session.record, "course_uid", ""):
            try:
                session.close_session("closed by the user")
            except NavigationError as exc:
                self.window.show_problem(f"Could not mark the session closed: {exc}")
        self.state.save_session()
        self.timer.stop()
        self.state.set_session(None)
        self.release_lock()
        self.window.setWindowTitle("tmsnav")
        self.sessionClosed.emit(session)

    def release_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def save(self) -> None:
        session = self.state.session
        if session is None:
            self.window.show_error("No session", "Create or open a session first (File > New session).")
            return
        if self.state.save_session():       # a failure shows the red banner (AppState.problem)
            self.window.statusBar().showMessage(f"Session saved to {session.path}", 5000)

    def save_or_create(self) -> bool:
        """Save before closing: the open session, or a new one (asks for a folder and a patient
        ID, then writes everything done so far). True when the work is on disk."""
        if self.state.session is None:
            self.choose_new()
            if self.state.session is None:
                return False                 # the user cancelled the folder / ID dialogs
            return not self.state.unsaved
        return self.state.save_session()

    def autosave(self) -> None:
        session = self.state.session
        if session is None:
            return
        try:
            session.autosave()
        except NavigationError as exc:
            self.window.show_problem(f"Autosave failed: {exc}")

    # ----- restoring after the image is loaded --------------------------------------------
    def _apply_pending(self, _head) -> None:
        restored, self._pending = self._pending, None
        if restored is None:
            return
        session = self.state.session
        warning = session.check_image("T1", self.state.head.volume.sha256) if session else None
        if warning:
            self.window.show_problem(warning + " Targets were not restored.")
            return
        if restored.pointer_calibration is not None:
            self.state.set_pointer_calibration(restored.pointer_calibration,
                                               restored.pointer_calibration.tip_offset_mm)
        if restored.coil_from_hotspot is not None:
            definition = _coil_definition(restored.coil_model_id)
            self.state.set_coil(definition, restored.coil_from_hotspot)
        if restored.targets is not None:
            self.state.targets = restored.targets
            self.state.targets_edited("session reopened")
        if restored.mri_from_mni is not None:
            from tmsnav.navigation.targeting.mni_registration import MniRegistration

            self.state.set_mni(MniRegistration(restored.mri_from_mni, float("nan"), 0.0,
                                               "restored from the session file"))


def _coil_definition(model_id: str | None):
    """The shipped coil definition with this model id, or None (the generic glyph is drawn)."""
    if not model_id:
        return None
    from tmsnav.navigation.coils import COIL_ASSETS_DIR, CoilDefinition

    for path in COIL_ASSETS_DIR.glob("*.json"):
        try:
            definition = CoilDefinition.load(path)
        except NavigationError:
            continue
        if definition.model_id == model_id:
            return definition
    return None
