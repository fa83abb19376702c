"""A course built by the tests in a real SQLite clinic database: a patient with identifying
fields, a 10 Hz L-DLPFC course with two planned targets, sessions with real session folders
(event log with registration verification, coil verification, motor threshold, notes, adverse
events, treatment summary) and pulses logged by the real PulseLog against the target, and
PHQ-9 / MADRS assessments with a PHQ-9 item 9 above zero.

Known truth for the checks: session k's pulses sit ``SESSION_SHIFT_MM[k]`` mm from the target
along the target's x axis (plus 0.3 mm noise), so the median pulse position of session k lies
that far from the target; every 50th pulse has no pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
import numpy as np

from tmsnav.navigation.records.infos import CourseProtocol
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.session.store import Session
from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog

PSEUDONYM = "P-0042"
FULL_NAME = "Maria Testperson-Example"
MRN = "MRN-7781234"
BIRTH_DATE = "1971-03-14"
SESSION_SHIFT_MM = {1: 0.5, 2: 2.0, 3: 4.0}
TOLERANCE_MM = 2.5             # not the Navigate default (3 mm): the report must use the session's own
EVIL_NOTE = 'Patient slept badly. <script>alert("x")</script> <b>bold?</b> & done'


def dlpfc() -> Target:
    return Target(name="L-DLPFC", scalp_point_mm=np.array([-38.2, 44.1, 52.5]), normal=np.array([0.6, -0.48, -0.64]),
                  handle_direction=np.array([0.0, -0.8, 0.6]), source="connectivity",
                  evidence=Evidence("Fox MD et al. 2012, Biol Psychiatry 72:595-603",
                                    "most anticorrelated with the sgACC", "10.1016/j.biopsych.2012.04.028"),
                  mni_point_mm=np.array([-38.0, 44.0, 26.0]))


def m1() -> Target:
    return Target(name="Left M1 hand", scalp_point_mm=np.array([-37.0, -21.0, 70.0]), normal=np.array([0.0, 0.0, -1.0]),
                  handle_direction=np.array([0.0, -1.0, 0.0]), source="motor-hotspot",
                  evidence=Evidence("", "largest MEP of the grid"))


def _registration(fre: float, icp: float) -> dict:
    return {"format_version": 2, "timestamp": "2026-12-01T09:02:00+00:00", "method": "fiducials+icp",
            "fre_rms_mm": fre, "icp_rms_mm": icp, "accepted": True, "problems": [],
            "scalp_points_reference_mm": [[0.0, 0.0, 0.0]] * 150,
            "predicted_error_mm": {"L-DLPFC": 2.4, "Left M1 hand": 2.9}}


def _pose(target: Target, shift_mm: float, rng: np.random.Generator) -> Transform:
    m = target.mri_from_target.matrix.copy()
    offset = np.array([shift_mm, 0.0, 0.0]) + np.r_[rng.normal(0.0, 0.3, 2), 0.0]
    m[:3, 3] = m[:3, :3] @ offset + m[:3, 3]
    return Transform(Frame.MRI, Frame.HOTSPOT, m)


@dataclass
class BuiltCourse:
    records: Records
    course_uid: str
    session_uids: list[str]
    folders: list[Path]
    target: Target


def build_course(records: Records, root: Path, *, n_sessions: int = 3, n_pulses: int = 300,
                 with_folders: bool = True, seed: int = 7) -> BuiltCourse:
    rng = np.random.default_rng(seed)
    records.add_patient(PSEUDONYM, full_name=FULL_NAME, birth_date=BIRTH_DATE, mrn=MRN, sex="F")
    target = dlpfc()
    targets = TargetSet([target, m1()], active="L-DLPFC").to_dict()
    course = records.add_course(PSEUDONYM, CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, n_pulses, 30),
                                targets=targets, coil_model_id="magstim-70mm-fig8",
                                indication="major depressive disorder", notes="Started after two failed SSRIs.")
    uids, folders = [], []
    start = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    for k in range(1, n_sessions + 1):
        day = start + timedelta(days=k - 1)
        folder = root / f"session_{k:02d}"
        session = Session.create(folder, PSEUDONYM) if with_folders else None
        if session is not None:
            session.events.fsync_each = False      # the test needs the lines, not power-loss safety
        log = PulseLog(session.events if session is not None else None, tolerance_mm=TOLERANCE_MM)
        shift = SESSION_SHIFT_MM.get(k, float(k % 5))
        event = None
        for i in range(n_pulses):
            pose = None if i % 50 == 49 else _pose(target, shift, rng)
            log.record(1_000_000 * i, "magstim", mri_from_hotspot=pose, pose_reason="coil not tracked",
                       target=target, output_pct_mso=62.0, wall_time=(day + timedelta(seconds=i / 10)).isoformat())
        registration = _registration(1.6 + 0.1 * k, 0.8 + 0.05 * k)
        calibrations = {"pointer": {"rms_mm": 0.31, "n_samples": 400},
                        "coil": {"model_id": "magstim-70mm-fig8", "method": "touched landmarks",
                                 "calibration": {"residual_rms_mm": 0.7}}}
        if session is not None:
            session.record.registration = registration
            session.save()
            touches = [{"tip_mri_mm": [1, 2, 3], "scalp_distance_mm": 0.8},
                       {"tip_mri_mm": [4, 5, 6], "scalp_distance_mm": 1.1}]
            session.events.append("registration_verified", touches=touches)
            session.events.append("coil_verification", model_id="magstim-70mm-fig8", passed=True, message="ok",
                                  mismatch_mm={"centre": 0.9, "handle": 1.2}, angle_rad=0.01)
            session.events.append("motor_threshold", method="relative frequency (IFCN)", threshold_pct=52,
                                  pulses_used=20, message="")
            session.add_note(EVIL_NOTE if k == 2 else f"Session {k} uneventful.")
            event = session.add_adverse_event("mild headache", "mild", "paracetamol") if k == 2 else None
            session.events.append("treatment_summary", tolerance_mm=TOLERANCE_MM, tolerance_rad=0.087)
            session.events.flush()
            session.close_session()
        info = records.upsert_session(
            uuid_for(k, session), course.uid, number=k, started_utc=day.isoformat(),
            ended_utc=(day + timedelta(minutes=40)).isoformat(), operator="J. Tech", navigator="nav-room-1",
            folder=str(folder) if with_folders else "", registration=registration,
            registration_error_mm=registration["icp_rms_mm"], calibrations=calibrations,
            motor_threshold_pct_mso=52.0, intensity_pct_mso=62.0, status="closed")
        records.add_pulses(info.uid, log.pulses)
        if k == 2:
            records.add_adverse_event(info.uid, event.seq if event is not None else 1, day.isoformat(),
                                      "mild headache", "mild", "paracetamol")
        uids.append(info.uid)
        folders.append(folder)
    records.add_outcome(course.uid, "PHQ-9", "2026-11-30", items=[3, 3, 2, 2, 2, 2, 2, 2, 1], timepoint="baseline")
    records.add_outcome(course.uid, "PHQ-9", "2026-12-03", items=[1, 1, 1, 1, 1, 1, 1, 1, 1], timepoint="day 3")
    records.add_outcome(course.uid, "MADRS", "2026-11-30", total=30, timepoint="baseline")
    records.add_outcome(course.uid, "MADRS", "2026-12-03", total=14, timepoint="day 3")
    return BuiltCourse(records, course.uid, uids, folders, target)


def uuid_for(k: int, session: Session | None) -> str:
    return session.record.session_id if session is not None else f"{k:02d}" + "ab" * 15
