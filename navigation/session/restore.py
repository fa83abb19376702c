"""Turn a saved :class:`SessionRecord` back into working objects (registration, targets, ...).

A second session on another day re-opens the plan: targets and the MNI transform come back as
they were; the registration comes back too but is marked as from an earlier sitting, because the
head reference marker is re-attached each day and the technician must re-register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import NavigationError
from ..transforms import Transform
from .store import SessionRecord

if TYPE_CHECKING:  # imported when parsing (restore_session), so the session package loads without them
    from ..registration import RegistrationResult
    from ..registration.pivot import PivotCalibration
    from ..targeting.targets import TargetSet

__all__ = ["RestoredSession", "restore_session"]


@dataclass
class RestoredSession:
    image_path: str | None
    image_sha256: str | None
    registration: RegistrationResult | None = None
    registration_timestamp: str | None = None
    pointer_calibration: PivotCalibration | None = None
    coil_model_id: str | None = None
    coil_from_hotspot: Transform | None = None
    targets: TargetSet | None = None
    mri_from_mni: Transform | None = None
    warnings: list[str] = field(default_factory=list)


def restore_session(record: SessionRecord) -> RestoredSession:
    """Parse every section; a damaged section becomes a warning, never a lost session."""
    from ..registration import RegistrationResult
    from ..registration.pivot import PivotCalibration
    from ..targeting.targets import TargetSet

    t1 = next((im for im in record.images if im.role == "T1"), None)
    out = RestoredSession(t1.path if t1 else None, t1.sha256 if t1 else None)

    def section(name: str, fn) -> None:
        try:
            fn()
        except (KeyError, TypeError, ValueError, NavigationError) as exc:
            out.warnings.append(f"The saved {name} could not be read and was skipped ({exc}).")

    if record.registration:
        saved = record.registration

        def reg() -> None:
            out.registration = RegistrationResult.from_dict(saved)
            out.registration_timestamp = out.registration.timestamp
        section("registration", reg)
    pointer = record.calibrations.get("pointer")
    if pointer:
        section("pointer calibration",
                lambda: setattr(out, "pointer_calibration", PivotCalibration.from_dict(pointer)))
    coil = record.calibrations.get("coil")
    if coil:
        def coil_section() -> None:
            out.coil_model_id = coil.get("model_id") or None
            if coil.get("coil_from_hotspot"):
                out.coil_from_hotspot = Transform.from_dict(coil["coil_from_hotspot"])
        section("coil calibration", coil_section)
    if record.targets:
        section("targets", lambda: setattr(out, "targets", TargetSet.from_dict(record.targets)))
    if record.mni and record.mni.get("mri_from_mni"):
        section("MNI transform",
                lambda: setattr(out, "mri_from_mni", Transform.from_dict(record.mni["mri_from_mni"])))
    return out
