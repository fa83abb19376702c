"""Clinic-record benchmark (issue 16): open a patient, log a pulse, write the course report.

Workload (2-core reference box; ``.venv/bin/python benchmarks/records.py``):

1. One patient, one course planned from a planning session, ``N_SESSIONS`` = 30 sessions started
   with :func:`tmsnav.navigation.records.today.start_todays_session`, each with a registration of
   realistic size in ``session.json`` (4 fiducials, 300 scalp points with their ICP distances), a
   motor threshold, ``N_PULSES`` = 3000 pulses through :class:`PulseLog` (poses around the
   target, 55 % MSO), an adverse event in every fifth session, a note, closed. Each folder is
   indexed with :func:`index_session_folder` (``index_pulses_per_s``: all pulses / total
   indexing time, one run per folder as after an outage).
2. ``open_patient_with_30_sessions_ms`` (goal < 300, SQLite): ``Records.open_patient`` (the one
   call the course view makes: patient, courses, every session row, outcomes); median of
   ``OPEN_REPEATS`` calls after the first (``..._first_ms``: the first call on a freshly opened
   database). The same on PostgreSQL (``..._postgresql``: a throwaway server from
   tests/navigation/records/pg_server.py on a Unix socket, started with ``fsync=off`` as the tests
   do, so its write numbers are optimistic; reads are unaffected) when PostgreSQL is installed.
3. ``log_pulse_ms_p99`` (goal < 5): ``PulseLog.record`` on today's session of the course with
   the session's own ``EventLog`` (an fsync per event) while a :class:`RecordsSync` listens to it
   and indexes into the SQLite database in the background: from the call to the pulse being on
   disk (fsynced) and the sync notified. ``LOG_PULSES`` pulses 20 ms apart (the within-burst
   spacing of iTBS, the densest clinical pattern). The session folder is in the system temp
   folder; its file-system type is recorded (``log_pulse_fs``). ``log_pulse_without_sync_*``:
   the same with no sync running (the fsync alone), to separate the two.
4. ``course_report_s`` (goal < 10): ``navigation.reports.write_course_report`` of the 30-session
   course, HTML + PDF, into a temp folder.

Writes ``benchmarks/results/records.json`` (flat, unit-suffixed keys, the load average at start)
and prints a table. ``--quick`` runs 5 sessions x 300 pulses (a smoke run, not saved).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "records.json"

from tmsnav.navigation.records.database import Database  # noqa: E402
from tmsnav.navigation.records.indexer import index_session_folder  # noqa: E402
from tmsnav.navigation.records.repository import CourseProtocol, Records  # noqa: E402
from tmsnav.navigation.records.sync import RecordsSync  # noqa: E402
from tmsnav.navigation.records.today import plan_course_from_session, start_todays_session  # noqa: E402
from tmsnav.navigation.session import EventLog, Session  # noqa: E402
from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet  # noqa: E402
from tmsnav.navigation.transforms import Frame, Transform  # noqa: E402
from tmsnav.navigation.treatment.pulse_log import PulseLog  # noqa: E402
from bench_results import print_goals, write_results  # noqa: E402  (this folder)

N_SESSIONS = 30
N_PULSES = 3000
OPEN_REPEATS = 15
LOG_PULSES = 1500
PSEUDONYM = "BENCH-0001"
GOALS = {"open_patient_with_30_sessions_ms": ("<", 300.0), "log_pulse_ms_p99": ("<", 5.0),
         "course_report_s": ("<", 10.0)}


def _fs_type(path: Path) -> str:
    best = ("", "?")
    for part in psutil.disk_partitions(all=True):
        if str(path).startswith(part.mountpoint) and len(part.mountpoint) > len(best[0]):
            best = (part.mountpoint, part.fstype)
    return best[1]


def _target() -> Target:
    normal = np.array([0.6, -0.3, -0.74]) / np.linalg.norm([0.6, -0.3, -0.74])
    handle = np.cross(normal, [1.0, 0.0, 0.0])
    return Target("L-DLPFC", np.array([-38.0, 44.0, 52.0]), normal, handle / np.linalg.norm(handle),
                  "Beam F3", Evidence("Beam F3 (Beam et al. 2009)", "benchmark"))


def _registration(rng: np.random.Generator) -> dict:
    """A registration dict of the size the Register tab saves (300 scalp points with ICP)."""
    points = rng.normal(0, 60, (300, 3))
    eye = Transform(Frame.MRI, Frame.REFERENCE, np.eye(4)).to_dict()
    return {"format_version": 1, "timestamp": "2026-12-05T09:00:00+00:00", "method": "fiducials+icp",
            "fiducial_names": ["nasion", "LPA", "RPA", "inion"],
            "fiducials_mri_mm": rng.normal(0, 70, (4, 3)).tolist(),
            "fiducials_reference_mm": rng.normal(0, 70, (4, 3)).tolist(),
            "fiducial_weights": [1.0] * 4, "mri_from_reference": eye,
            "fiducial_mri_from_reference": eye, "fre_mm": [1.1, 1.4, 0.9, 1.7], "fre_rms_mm": 1.3,
            "fle_mm": 1.0, "predicted_tre_fiducials_mm": {"L-DLPFC": 2.1}, "accepted": True,
            "problems": [], "scalp_points_reference_mm": points.tolist(),
            "icp_distances_mm": rng.normal(0, 0.8, 300).tolist(), "icp_inliers": [True] * 300,
            "icp_rms_mm": 0.9, "icp_iterations": 23, "icp_converged": True,
            "predicted_tre_icp_mm": {"L-DLPFC": 1.8}, "predicted_error_mm": {"L-DLPFC": 3.1}}


def build_course(records: Records, work: Path, n_sessions: int, n_pulses: int) -> tuple[str, list[Path]]:
    """The workload of step 1 (without indexing); returns the course uid and the folders."""
    rng = np.random.default_rng(16)
    target = _target()
    records.add_patient(PSEUDONYM, full_name="Bench Mark", mrn="B-1")
    plan = Session.create(work / "plan", PSEUDONYM)
    plan.set_image("T1", "/data/t1.nii.gz", "0" * 64)
    plan.set_targets(TargetSet([target], target.name).to_dict())
    plan.save()
    protocol = CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, n_pulses, n_sessions)
    course_uid = plan_course_from_session(records, PSEUDONYM, plan, protocol).uid
    folders = []
    for k in range(n_sessions):
        s = start_todays_session(records, course_uid, work / "sessions", "RN Bench")
        s.events = EventLog(s.folder / "events.jsonl", fsync_each=False)   # only to build faster
        s.record.registration = _registration(rng)
        s.save()
        s.events.append("motor_threshold", method="relative frequency", threshold_pct=45 + k % 5,
                        pulses_used=20, message="")
        log = PulseLog(s.events)
        offsets = rng.normal(0.0, 1.5, (n_pulses, 3))
        base = target.mri_from_target.matrix
        for i in range(n_pulses):
            m = base.copy()
            m[:3, 3] += offsets[i]
            log.record(i * 100_000_000, "magpro", mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, m),
                       target=target, output_pct_mso=55.0)
        if k % 5 == 0:
            s.add_adverse_event("scalp discomfort", "mild", "coil repositioned")
        s.add_note(f"session {k + 1}")
        s.close_session()
        s.events.flush()
        s.release_lock()
        folders.append(s.folder)
    return course_uid, folders


def index_all(records: Records, folders: list[Path]) -> float:
    """Index every folder; returns pulses per second."""
    t0 = time.perf_counter()
    total = sum(index_session_folder(records, f).pulses_added for f in folders)
    return total / (time.perf_counter() - t0)


def open_patient_ms(url: str) -> tuple[float, float]:
    """(first call on a freshly opened database, median of the following calls) in ms."""
    db = Database.open(url)
    try:
        records = Records(db)
        times = []
        for _ in range(OPEN_REPEATS + 1):
            t0 = time.perf_counter()
            overview = records.open_patient(PSEUDONYM)
            times.append((time.perf_counter() - t0) * 1e3)
        assert sum(len(v) for v in overview.sessions.values()) >= 1
        return times[0], statistics.median(times[1:])
    finally:
        db.close()


def log_pulse(records: Records, url: str, course_uid: str, work: Path, n: int, *,
              with_sync: bool = True) -> dict[str, float | str]:
    session = start_todays_session(records, course_uid, work / ("today" if with_sync else "alone"),
                                   "RN Bench")
    # the sync's own connection, as the app opens it (app/records/controller.py)
    sync = RecordsSync(lambda: Records(Database.open(url, durable_commits=False)), session, close_on_stop=True)
    if with_sync:
        sync.start()
    log = PulseLog(session.events)
    target = _target()
    pose = Transform(Frame.MRI, Frame.HOTSPOT, target.mri_from_target.matrix)
    times = []
    next_t = time.perf_counter()
    for i in range(n):
        next_t += 0.020
        while time.perf_counter() < next_t:
            time.sleep(max(0.0, next_t - time.perf_counter() - 0.001))
        t0 = time.perf_counter()
        log.record(time.monotonic_ns(), "magpro", mri_from_hotspot=pose, target=target, output_pct_mso=55.0)
        times.append((time.perf_counter() - t0) * 1e3)
    deadline = time.monotonic() + 60
    while with_sync and sync.status().state != "synced" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = sync.stop()
    session.release_lock()
    arr = np.array(times)
    if not with_sync:
        return {"log_pulse_without_sync_ms_p50": float(np.percentile(arr, 50)),
                "log_pulse_without_sync_ms_p99": float(np.percentile(arr, 99))}
    return {"log_pulse_ms_p50": float(np.percentile(arr, 50)), "log_pulse_ms_p99": float(np.percentile(arr, 99)),
            "log_pulse_ms_max": float(arr.max()), "log_pulses": float(n),
            "log_pulse_fs": _fs_type(session.folder), "log_pulse_sync_state_after": status.state}


def course_report_s(records: Records, course_uid: str, work: Path) -> float:
    from tmsnav.navigation.reports import write_course_report

    (work / "report").mkdir()
    t0 = time.perf_counter()
    files = write_course_report(records, course_uid, work / "report")
    elapsed = time.perf_counter() - t0
    assert files.html is not None and files.pdf is not None and files.pdf.stat().st_size > 0
    return elapsed


def _load_pg_server():
    """The tests' throwaway-server module, loaded by its path (the checkout stays off sys.path)."""
    import importlib.util

    path = ROOT / "tests" / "navigation" / "records" / "pg_server.py"
    spec = importlib.util.spec_from_file_location("tmsnav_bench_pg_server", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def postgres_baseline(work: Path, n_sessions: int, n_pulses: int) -> dict[str, float]:
    try:
        pg_server = _load_pg_server()
    except (ImportError, OSError) as err:
        print(f"PostgreSQL baseline skipped: {err}")
        return {}
    try:
        server = pg_server.start_postgres(work)
    except (pg_server.PgUnavailable, RuntimeError) as err:
        print(f"PostgreSQL baseline skipped: {err}")
        return {}
    try:
        url = server.url_for("postgres")
        db = Database.open(url)
        records = Records(db)
        _uid, folders = build_course(records, work / "pg", n_sessions, n_pulses)
        rate = index_all(records, folders)
        db.close()
        first, median = open_patient_ms(url)
        return {"open_patient_with_30_sessions_ms_postgresql": median,
                "open_patient_with_30_sessions_first_ms_postgresql": first,
                "index_pulses_per_s_postgresql": rate}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 sessions x 300 pulses; results not saved")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL baseline")
    args = parser.parse_args()
    n_sessions, n_pulses, n_log = (5, 300, 200) if args.quick else (N_SESSIONS, N_PULSES, LOG_PULSES)
    load_avg = psutil.getloadavg()[0]
    results: dict[str, float | str] = {"load_avg_1min_at_start": load_avg, "cpu_count": float(psutil.cpu_count()),
                                       "n_sessions": float(n_sessions), "n_pulses_per_session": float(n_pulses)}
    work = Path(tempfile.mkdtemp(prefix="tmsnav-bench-records-"))
    try:
        url = f"sqlite:///{work / 'clinic.sqlite3'}"
        db = Database.open(url)
        records = Records(db)
        t0 = time.perf_counter()
        course_uid, folders = build_course(records, work, n_sessions, n_pulses)
        results["build_workload_s"] = time.perf_counter() - t0
        results["index_pulses_per_s"] = index_all(records, folders)
        first, median = open_patient_ms(url)
        results["open_patient_with_30_sessions_ms"] = median
        results["open_patient_with_30_sessions_first_ms"] = first
        results.update(log_pulse(records, url, course_uid, work, n_log))
        results.update(log_pulse(records, url, course_uid, work, n_log, with_sync=False))
        results["course_report_s"] = course_report_s(records, course_uid, work)
        db.close()
        results["sqlite_fs"] = _fs_type(work)
        if not args.no_postgres:
            results.update(postgres_baseline(work, n_sessions, n_pulses))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {load_avg:.2f} on {psutil.cpu_count()} cores; {n_sessions} sessions x {n_pulses} "
          f"pulses; SQLite and session folders on {results['sqlite_fs']}")
    rows = [("open_patient (SQLite), median / first", "open_patient_with_30_sessions_ms",
             "open_patient_with_30_sessions_first_ms", "ms"),
            ("open_patient (PostgreSQL), median / first", "open_patient_with_30_sessions_ms_postgresql",
             "open_patient_with_30_sessions_first_ms_postgresql", "ms"),
            ("PulseLog.record fsync'd + sync notified p50 / p99", "log_pulse_ms_p50", "log_pulse_ms_p99", "ms"),
            ("  same, no sync running (fsync alone) p50 / p99", "log_pulse_without_sync_ms_p50",
             "log_pulse_without_sync_ms_p99", "ms")]
    for label, a, b, unit in rows:
        if a in results:
            print(f"{label:52s}{float(results[a]):9.2f}{float(results[b]):9.2f} {unit}")
    for label, key, unit in (("index throughput (SQLite)", "index_pulses_per_s", "pulses/s"),
                             ("index throughput (PostgreSQL)", "index_pulses_per_s_postgresql", "pulses/s"),
                             ("course report HTML + PDF", "course_report_s", "s")):
        if key in results:
            print(f"{label:52s}{float(results[key]):9.1f} {unit}")
    print_goals(results, GOALS)
    if not args.quick:
        write_results(RESULTS, results, ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
