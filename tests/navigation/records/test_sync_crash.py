"""kill -9 of a program streaming pulses into a course session (PulseLog + fsync'd EventLog +
RecordsSync), then reopen: every pulse it reported as logged is in events.jsonl, and indexing
brings the database to exactly those pulses (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sync_helpers import planned_course, wait_until

from tmsnav.navigation.records.indexer import index_session_folder
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.records.today import start_todays_session
from tmsnav.navigation.session import Session, read_events
from tmsnav.navigation.session.lock import SessionLock
from tmsnav.navigation.treatment.pulse_log import pulses_from_events

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from tmsnav.navigation.records.database import Database
    from tmsnav.navigation.records.repository import Records
    from tmsnav.navigation.records.sync import RecordsSync
    from tmsnav.navigation.session import Session
    from tmsnav.navigation.session.lock import SessionLock
    from tmsnav.navigation.transforms import Frame, Transform
    from tmsnav.navigation.treatment.pulse_log import PulseLog

    url, folder = sys.argv[1], sys.argv[2]
    session = Session.open(folder)
    session.lock = SessionLock.acquire(folder)
    records = Records(Database.open(url))
    sync = RecordsSync(lambda: records, session, retry_s=0.05, batch_s=0.02)
    sync.start()
    log = PulseLog(session.events)
    i = 0
    while True:
        m = np.eye(4)
        m[:3, 3] = (0.01 * (i % 300), 0.0, 0.0)
        pulse = log.record(i * 100_000_000, "magpro", mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, m),
                           output_pct_mso=55.0)
        print(pulse.index, flush=True)      # only after record() returned: fsynced and queued
        i += 1
""")


def test_kill_9_mid_stream_loses_no_logged_pulse_and_the_database_catches_up(
        records: Records, db_url: str, tmp_path: Path):
    course_uid = planned_course(records, tmp_path)
    session = start_todays_session(records, course_uid, tmp_path / "sessions", "RN Weber")
    session.release_lock()                    # the child program records this session
    uid = session.record.session_id
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(session.folder)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    reported: list[int] = []
    try:
        # the child's sync has written some pulses, then it keeps streaming: kill it mid-stream
        wait_until(lambda: records.session(uid).pulses_total > 0, what="the child's first sync")
        for _ in range(100):
            reported.append(int(child.stdout.readline()))
        os.kill(child.pid, signal.SIGKILL)
        reported += [int(line) for line in child.stdout.read().split()]
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL and len(reported) >= 100

    in_db_at_kill = records.session(uid).pulses_total
    in_folder = pulses_from_events(read_events(session.folder / "events.jsonl").events)
    assert [p.index for p in in_folder][:len(reported)] == reported     # every reported pulse is on disk
    assert len(in_folder) <= len(reported) + 1          # at most the one being printed when killed
    assert 0 < in_db_at_kill <= len(in_folder)

    reopened = Session.open(session.folder)              # the next program: the stale lock is taken over
    lock = SessionLock.acquire(reopened.folder)
    assert "no longer running" in lock.warning
    result = index_session_folder(records, reopened.folder)
    lock.release()
    assert result.pulses_total == len(in_folder)
    assert result.pulses_added == len(in_folder) - in_db_at_kill
    stored = records.pulses(uid)
    assert [p.index for p in stored] == list(range(1, len(in_folder) + 1))
    assert [p.host_time_ns for p in stored] == [p.host_time_ns for p in in_folder]
    row = records.session(uid)
    assert row.pulses_total == len(in_folder) and row.events_synced_seq == result.synced_seq
