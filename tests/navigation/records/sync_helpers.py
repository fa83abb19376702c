"""Shared set-up of the sync / today tests: a patient with a planned course, and a wait for a
condition (never a fixed sleep: the machine may be loaded)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from tmsnav.navigation.records.repository import CourseProtocol, Records
from tmsnav.navigation.session import Session
from tmsnav.navigation.transforms import Frame, Transform

PSEUDONYM = "SUBJ-0042"


def target_set_dict() -> dict:
    """One left DLPFC target (scalp point, normal into the head, handle forward)."""
    from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet

    normal = np.array([0.6, -0.3, -0.74]) / np.linalg.norm([0.6, -0.3, -0.74])
    handle = np.cross(normal, [1.0, 0.0, 0.0])
    target = Target("L-DLPFC", np.array([-38.0, 44.0, 52.0]), normal,
                    handle / np.linalg.norm(handle), "Beam F3", Evidence("Beam F3", ""))
    return TargetSet([target], "L-DLPFC").to_dict()


def coil_calibration() -> dict:
    return {"model_id": "magventure-cool-b65", "method": "definition file",
            "coil_from_hotspot": Transform(Frame.COIL, Frame.HOTSPOT, np.eye(4)).to_dict()}


def planning_session(folder: Path) -> Session:
    s = Session.create(folder, PSEUDONYM)
    s.set_image("T1", "/data/mri/t1.nii.gz", "ab" * 32)
    s.set_targets(target_set_dict(), reason="planned")
    s.record.mni = {"mri_from_mni": Transform(Frame.MRI, Frame.MNI, np.eye(4)).to_dict()}
    s.set_calibration("coil", coil_calibration())
    s.set_calibration("pointer", {"tip_offset_mm": [0.0, 0.0, 150.0], "pivot_tracker_mm": [10.0, 20.0, -900.0],
                                  "rms_mm": 0.4, "max_residual_mm": 0.9, "rotation_span_rad": 1.0,
                                  "cone_angle_rad": 0.6, "n_samples": 400})
    s.save()
    return s


def protocol(sessions_planned: int = 30) -> CourseProtocol:
    return CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, sessions_planned)


def planned_course(records: Records, tmp_path: Path) -> str:
    """A patient and a course planned from a planning session; returns the course uid."""
    from tmsnav.navigation.records.today import plan_course_from_session

    records.add_patient(PSEUDONYM)
    plan = planning_session(tmp_path / "plan")
    return plan_course_from_session(records, PSEUDONYM, plan, protocol()).uid


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    """Poll ``condition`` until true (generous timeout for a loaded machine)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)
