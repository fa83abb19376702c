"""What ``tmsnav --demo`` prepares on top of the sample head: a plan to navigate to.

The sample head ships its ``mri_from_mni`` (navigation.sample_head), so the demo maps two
literature targets (Fox 2012 L-DLPFC, active; left M1 hand knob) onto its scalp, exactly as a
clinician would from the Planning tab. The simulated technician then works toward the active
target, and the user walks the registration workflow with it.
"""

from __future__ import annotations

from navigation import sample_head
from navigation.targeting import literature
from navigation.targeting.mni_registration import MniRegistration
from navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh

__all__ = ["prepare_demo_plan", "DEMO_TRACKER"]

DEMO_TRACKER = "sim:full_session"


def prepare_demo_plan(state) -> None:
    """Give the sample head its MNI transform and two targets (Fox 2012 active)."""
    head = state.head
    if head is None or not head.is_sample or len(state.targets):
        return
    mri_from_mni = sample_head.sample_head_mri_from_mni()
    state.set_mni(MniRegistration(mri_from_mni, float("nan"), 0.0,
                                  "bundled sample-head transform (assets/sample_head/mri_from_mni.json)"))
    fids = head.fiducials_mm
    axes = HeadAxes.from_landmarks(fids["nasion"], fids["lpa"], fids["rpa"])
    scalp = SurfaceMesh(head.scalp)
    for key in ("m1_hand_left", "fox2012"):
        target = literature.map_to_patient(literature.get(key), mri_from_mni, scalp, head.brain,
                                           head_axes=axes)
        state.targets.add(target)
    state.targets.select(state.targets.names[-1])
    state.targets_edited("demo plan")
