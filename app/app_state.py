"""The one place the GUI keeps what the user has done: head, calibrations, registration, targets.

Panels read from and write to :class:`AppState`; its signals tell the other panels and views.
Every change is also written to the open session (``session.json`` + ``events.jsonl``) so that
nothing the user did is lost; a disk problem becomes a persistent, non-modal warning through
``problem`` while navigation continues.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6 import QtCore

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.session import Session
from tmsnav.navigation.transforms import Frame, Transform

log = logging.getLogger(__name__)

__all__ = ["AppState", "NOT_VERIFIED"]

#: Shown wherever live MRI-space guidance would be, until a scalp touch agreed with the registration.
NOT_VERIFIED = "registration not verified: touch the scalp in the Verify step"


def _as_dict(obj: Any) -> dict | None:
    if obj is None:
        return None
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class AppState(QtCore.QObject):
    headChanged = QtCore.Signal(object)           # tmsnav.app.loading.LoadedHead | None
    registrationChanged = QtCore.Signal(object)   # registration result | None
    calibrationChanged = QtCore.Signal(str)       # "pointer" | "coil"
    targetsChanged = QtCore.Signal()              # a target added, removed, renamed, edited, or made active
    mniChanged = QtCore.Signal(object)            # MNI registration | None
    sessionChanged = QtCore.Signal(object)        # Session | None
    problem = QtCore.Signal(str)                  # persistent warning text ("" clears it)
    navigationBlockChanged = QtCore.Signal(str)   # why MRI-space navigation is disabled ("" = allowed)
    verifiedChanged = QtCore.Signal(bool)         # the registration was verified on the scalp (or not)
    unsavedChanged = QtCore.Signal(bool)          # work that is not in a saved session file

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        from tmsnav.navigation.targeting.targets import TargetSet

        self.head = None
        self.session: Session | None = None
        self.registration = None
        self.pointer_calibration = None
        self.pointer_from_tip: Transform | None = None
        self.coil_definition = None
        self.coil_calibration = None
        self.coil_from_hotspot: Transform | None = None
        self.coil_verification = None    # tmsnav.navigation.coils.CoilVerification (coil step) | None
        self.targets = TargetSet()
        self.mni = None
        self.navigation_block = ""
        self.registration_verified = False
        self.verification = None         # tmsnav.navigation.registration.ScalpVerification that passed
        self.unsaved = False

    def set_navigation_block(self, reason: str) -> None:
        """Disable MRI-space display of tracked tools (e.g. image orientation unconfirmed)."""
        self.navigation_block = reason
        self.navigationBlockChanged.emit(reason)

    # ----- head and session ---------------------------------------------------------------
    def set_head(self, head) -> None:
        if head is not self.head:
            self.navigation_block = ""
        self.head = head
        if self.mni is not None:
            self.mni = None
            self.mniChanged.emit(None)  # an MNI transform belongs to the previous image
        if self.session is not None and head is not None:
            v = head.volume
            warning = self.session.check_image("T1", v.sha256)
            if warning:
                self.problem.emit(warning)
            self._record(lambda s: s.set_image("T1", str(v.source or v.name), v.sha256,
                                               getattr(v, "affine_source", "")))
        self.headChanged.emit(head)

    def set_session(self, session: Session | None) -> None:
        self.session = session
        self.sessionChanged.emit(session)

    # ----- calibrations -------------------------------------------------------------------
    def set_pointer_calibration(self, calibration, tip_offset_mm) -> None:
        """``tip_offset_mm``: the tip in the pointer marker frame (from pivot calibration)."""
        self.pointer_calibration = calibration
        self.pointer_from_tip = (None if tip_offset_mm is None else Transform.from_translation(
            tip_offset_mm, to_frame=Frame.POINTER, from_frame=Frame.POINTER_TIP))
        self._record(lambda s: s.set_calibration("pointer", _as_dict(calibration) or {}))
        self.calibrationChanged.emit("pointer")

    def set_coil(self, definition, coil_from_hotspot: Transform | None, calibration=None) -> None:
        v = self.coil_verification      # a verification holds only for the coil it touched
        if v is not None and (v.model_id != getattr(definition, "model_id", "")
                              or not v.applies_to(coil_from_hotspot)):
            self.coil_verification = None
        self.coil_definition = definition
        self.coil_calibration = calibration
        self.coil_from_hotspot = coil_from_hotspot
        record = {"model_id": getattr(definition, "model_id", ""),
                  "method": "touched landmarks" if calibration is not None else "definition file",
                  "coil_from_hotspot": coil_from_hotspot.to_dict() if coil_from_hotspot else None}
        if calibration is not None:
            record["calibration"] = _as_dict(calibration)
        self._record(lambda s: s.set_calibration("coil", record))
        self.calibrationChanged.emit("coil")

    def set_coil_verification(self, verification) -> None:
        """The coil step's verification touches (``tmsnav.navigation.coils.CoilVerification`` or None);
        guidance uses the coil only once one passed for the current calibration."""
        self.coil_verification = verification
        if verification is not None:
            self._record(lambda s: s.events.append("coil_verification", **verification.to_dict()))
        self.calibrationChanged.emit("coil")

    # ----- registration and targets -------------------------------------------------------
    @property
    def mri_from_reference(self) -> Transform | None:
        reg = self.registration
        return None if reg is None else getattr(reg, "mri_from_reference", None)

    def set_registration(self, result) -> None:
        """A new registration (or None) is never verified: touch the scalp again (Verify step)."""
        self.registration = result
        was_verified, self.registration_verified, self.verification = \
            self.registration_verified, False, None
        if result is not None:
            self._record(lambda s: s.set_registration(_as_dict(result)))
        self.registrationChanged.emit(result)
        if was_verified:
            self.verifiedChanged.emit(False)

    def set_registration_verified(self, verification) -> None:
        """Mark the current registration verified by ``verification`` (a passed
        :class:`tmsnav.navigation.registration.ScalpVerification`); raises ValueError otherwise, so no
        caller can open navigation with an unchecked registration."""
        if self.registration is None:
            raise ValueError("no registration to verify")
        if verification is None or not verification.verified:
            raise ValueError("the scalp touches do not verify this registration")
        self.registration_verified, self.verification = True, verification
        touches = [{"tip_mri_mm": [round(float(x), 2) for x in t.tip_mri_mm],
                    "scalp_distance_mm": round(t.scalp_distance_mm, 2)}
                   for t in verification.agreeing]
        self._record(lambda s: s.events.append("registration_verified", touches=touches))
        self.verifiedChanged.emit(True)

    def navigation_not_ready(self) -> str:
        """Why live MRI-space guidance must not be shown now ("" = it may be): orientation not
        confirmed, no registration, or a registration no scalp touch has verified."""
        if self.navigation_block:
            return self.navigation_block
        if self.mri_from_reference is None:
            return "not registered"
        if not self.registration_verified:
            return NOT_VERIFIED
        return ""

    def set_mni(self, registration) -> None:
        self.mni = registration
        if self.session is None and registration is not None:
            self._set_unsaved(True)
        if self.session is not None and registration is not None:
            self.session.record.mni = {"mri_from_mni": registration.mri_from_mni.to_dict(),
                                       "method": getattr(registration, "method", "")}
            self._save(self.session)
        self.mniChanged.emit(registration)

    def targets_edited(self, reason: str) -> None:
        """Call after changing ``self.targets`` (add, remove, rename, select)."""
        self._record(lambda s: s.set_targets(self.targets.to_dict(), reason=reason))
        self.targetsChanged.emit()

    def record_all(self) -> None:
        """Write everything known so far into a newly created session."""
        if self.session is None:
            return
        if self.head is not None:
            v = self.head.volume
            self._record(lambda s: s.set_image("T1", str(v.source or v.name), v.sha256,
                                               getattr(v, "affine_source", "")))
        if self.pointer_calibration is not None:
            self._record(lambda s: s.set_calibration("pointer", _as_dict(self.pointer_calibration)))
        if self.coil_from_hotspot is not None:
            self.set_coil(self.coil_definition, self.coil_from_hotspot, self.coil_calibration)
        if len(self.targets):
            self.targets_edited("session created")
        if self.mni is not None:
            self.set_mni(self.mni)
        if self.registration is not None:
            self._record(lambda s: s.set_registration(_as_dict(self.registration)))

    # ----- persistence --------------------------------------------------------------------
    def _set_unsaved(self, unsaved: bool) -> None:
        if unsaved != self.unsaved:
            self.unsaved = unsaved
            self.unsavedChanged.emit(unsaved)

    def _record(self, change) -> None:
        if self.session is None:
            self._set_unsaved(True)      # nothing to write it to: closing must ask
            return
        try:
            change(self.session)
        except NavigationError as exc:
            self.problem.emit(str(exc))
            return
        self._save(self.session)

    def _save(self, session: Session) -> None:
        try:
            session.save()
            pending = session.events.last_error
            self.problem.emit(pending or "")
            self._set_unsaved(False)
        except NavigationError as exc:
            log.error("session save failed: %s", exc)
            self.problem.emit(str(exc))
            self._set_unsaved(True)

    def save_session(self) -> bool:
        """Write the session now (File > Save, or Save when closing); True when it is on disk."""
        if self.session is None:
            return False
        self._save(self.session)
        return not self.unsaved
