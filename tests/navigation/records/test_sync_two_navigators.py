"""Two navigators (threads with a Database object each, as two treatment rooms) start today's
session of the same course at the same moment and record pulses at once: both sessions complete,
with distinct numbers and every pulse (PostgreSQL, and SQLite for a single shared file)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from sync_helpers import planned_course

from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import Records
from tmsnav.navigation.records.sync import RecordsSync
from tmsnav.navigation.records.today import start_todays_session
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog

PULSES = 150


def _navigator(url: str, course_uid: str, root: Path, operator: str, barrier: threading.Barrier,
               out: dict, errors: list) -> None:
    db = Database.open(url)
    try:
        records = Records(db)
        barrier.wait()
        session = start_todays_session(records, course_uid, root, operator)
        sync = RecordsSync(lambda: records, session, retry_s=0.05, batch_s=0.01)
        sync.start()
        log = PulseLog(session.events)
        for i in range(PULSES):
            m = np.eye(4)
            m[:3, 3] = (0.02 * i, 0.0, 0.0)
            log.record(i * 100_000_000, operator, mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, m))
        session.close_session()
        out[operator] = (session.record.session_id, sync.stop())
        session.release_lock()
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        db.close()


def test_two_navigators_record_the_same_course_at_once(records: Records, db_url: str, tmp_path: Path):
    course_uid = planned_course(records, tmp_path)
    barrier = threading.Barrier(2)
    out: dict = {}
    errors: list = []
    threads = [threading.Thread(target=_navigator, args=(db_url, course_uid, tmp_path / f"room{k}",
                                                         f"room {k}", barrier, out, errors))
               for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [] and len(out) == 2
    assert {status.state for _uid, status in out.values()} == {"synced"}
    sessions = records.sessions(course_uid)
    assert sorted(s.number for s in sessions) == [1, 2]
    by_uid = {s.uid: s for s in sessions}
    for operator, (uid, _status) in out.items():
        row = by_uid[uid]
        assert row.operator == operator and row.status == "closed" and row.pulses_total == PULSES
        pulses = records.pulses(uid)
        assert len(pulses) == PULSES and {p.source for p in pulses} == {operator}
        assert Path(row.folder).name.endswith(f"_s{row.number:02d}")
