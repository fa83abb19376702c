"""Two navigators as two processes (two tmsnav instances on one SQLite file, or two treatment
rooms on one PostgreSQL server) record sessions and pulses for the same course at the same time:
no duplicate session number, no lost row, every pulse stored once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import CourseProtocol, Records

ROOT = Path(__file__).resolve().parents[3]

NAVIGATOR = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[4])
    from tmsnav.navigation.records.database import Database
    from tmsnav.navigation.records.repository import Records
    from tmsnav.navigation.treatment.pulse_log import LoggedPulse
    url, course_uid, room = sys.argv[1], sys.argv[2], sys.argv[3]
    records = Records(Database.open(url))
    go = Path(sys.argv[5])
    while not go.exists():            # start together: both wait for the test's signal
        time.sleep(0.01)
    for i in range(8):
        uid = f"{room}-{i}"
        records.upsert_session(uid, course_uid, number=records.next_session_number(course_uid),
                               navigator=room)
        pulses = [LoggedPulse(index=k, host_time_ns=k, wall_time_iso="2026-12-05T09:00:00+00:00",
                              source="ttl", sequence=None, output_pct_mso=None, didt_a_per_us=None,
                              mri_from_hotspot=None, pose_reason="coil not tracked",
                              target_name=None, position_error_mm=None, angle_error_rad=None,
                              depth_error_mm=None, twist_error_rad=None, within_tolerance=None)
                  for k in range(1, 101)]
        records.add_pulses(uid, pulses)
    records.database.close()
""")


def test_two_navigator_processes_record_one_course(db_url: str, tmp_path: Path) -> None:
    setup = Records(Database.open(db_url))
    setup.add_patient("P001")
    course = setup.add_course("P001", CourseProtocol("F3", 120.0, "10 Hz", 10.0, 100, 30)).uid
    script = tmp_path / "navigator.py"
    script.write_text(NAVIGATOR)
    go = tmp_path / "go"
    rooms = [subprocess.Popen([sys.executable, str(script), db_url, course, room, str(ROOT), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for room in ("room1", "room2")]
    go.write_text("")
    for proc in rooms:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    sessions = setup.sessions(course)
    assert sorted(s.number for s in sessions) == list(range(1, 17))
    assert sorted(s.uid for s in sessions) == sorted(f"room{r}-{i}" for r in (1, 2) for i in range(8))
    assert all(s.pulses_total == 100 for s in sessions)
    setup.database.close()
