"""What ``tmsnav --demo`` prepares on top of the sample head: a plan to navigate to.

The sample head ships its ``mri_from_mni`` (tmsnav.navigation.sample_head), so the demo maps two
literature targets (Fox 2012 L-DLPFC, active; left M1 hand knob) onto its scalp, exactly as a
clinician would from the Planning tab. The simulated technician then works toward the active
target, and the user walks the registration workflow with it.
"""

from __future__ import annotations

from tmsnav.navigation import sample_head
from tmsnav.navigation.targeting import literature
from tmsnav.navigation.targeting.mni_registration import MniRegistration
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh

__all__ = ["prepare_demo_plan", "start_demo", "DEMO_TRACKER"]

#: The simulated technician's scripted session, looping: pivot, coil check, fiducials, scalp
#: sweep, two verification touches, coil to the active target and hold (tmsnav.hardware.simulation.scenario_library).
DEMO_TRACKER = "sim:full_session"


def start_demo(window, tracker_spec: str | None = None) -> None:
    """What ``tmsnav --demo`` (``./run.sh demo``) does once the window is shown: open the sample
    head, plan the two targets on it when it has loaded, then connect the simulated tracker
    (built from the loaded head and its targets, so the simulated coil goes to the active one).
    The README walk-through test starts the app through this same function."""
    from PySide6 import QtCore

    window.headLoaded.connect(lambda _h: prepare_demo_plan(window.state),
                              QtCore.Qt.ConnectionType.SingleShotConnection)
    window.open_sample_head()
    window.connect_tracker_spec(tracker_spec or DEMO_TRACKER)


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
