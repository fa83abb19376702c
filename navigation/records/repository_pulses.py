"""Pulses in the clinic database: idempotent bulk insert (the indexer and the sync re-send the
same pulses after a crash or an outage), the per-session summary columns that let the course view
open without loading pulse rows, and the course's pulse positions for the Navigate view.

The summary follows navigation.treatment.statistics (median / 95th percentile of the position
error over the pulses that have one; numpy's default linear percentile), so the database and the
session report agree.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..transforms import Frame, Transform
from ..treatment.pulse_log import LoggedPulse
from .models import Course, Pulse, SessionRow
from .repository_base import RecordsBase, utc_now_iso

__all__ = ["PulsesMixin"]


def _pulse_row(session_id: int, pulse: LoggedPulse) -> dict[str, Any]:
    matrix = None if pulse.mri_from_hotspot is None else np.asarray(pulse.mri_from_hotspot.matrix, float)
    x = y = z = None
    if matrix is not None:
        x, y, z = (float(v) for v in matrix[:3, 3])
    return {"session_id": session_id, "index": int(pulse.index),
            "wall_time_utc": pulse.wall_time_iso, "host_time_ns": int(pulse.host_time_ns),
            "source": pulse.source, "sequence": pulse.sequence,
            "output_pct_mso": pulse.output_pct_mso, "didt_a_per_us": pulse.didt_a_per_us,
            "x_mm": x, "y_mm": y, "z_mm": z,
            "mri_from_hotspot": None if matrix is None else matrix.tolist(),
            "pose_reason": pulse.pose_reason or "", "target_name": pulse.target_name,
            "position_error_mm": pulse.position_error_mm, "angle_error_rad": pulse.angle_error_rad,
            "depth_error_mm": pulse.depth_error_mm, "twist_error_rad": pulse.twist_error_rad,
            "within_tolerance": pulse.within_tolerance}


def _logged_pulse(row: Any) -> LoggedPulse:
    """A LoggedPulse from a Core row of the pulses table (Core, not ORM: several times faster for
    the thousands of pulses of a session, and nothing to detach). ``row._mapping`` because a
    Row is a tuple, whose ``.index`` is the tuple method, not the column."""
    m = row._mapping
    pose = (None if m["mri_from_hotspot"] is None
            else Transform(Frame.MRI, Frame.HOTSPOT, np.array(m["mri_from_hotspot"], float)))
    return LoggedPulse(index=m["index"], host_time_ns=m["host_time_ns"],
                       wall_time_iso=m["wall_time_utc"], source=m["source"], sequence=m["sequence"],
                       output_pct_mso=m["output_pct_mso"], didt_a_per_us=m["didt_a_per_us"],
                       mri_from_hotspot=pose, pose_reason=m["pose_reason"] or "",
                       target_name=m["target_name"], position_error_mm=m["position_error_mm"],
                       angle_error_rad=m["angle_error_rad"], depth_error_mm=m["depth_error_mm"],
                       twist_error_rad=m["twist_error_rad"], within_tolerance=m["within_tolerance"])


def refresh_pulse_summary(s: Session, session_row: SessionRow) -> None:
    """Recompute the session's pulse summary columns from its pulse rows."""
    sid = session_row.id
    total, with_pose, on_target = s.execute(
        select(func.count(Pulse.id), func.count(Pulse.x_mm),
               func.count(Pulse.id).filter(Pulse.within_tolerance.is_(True)))
        .where(Pulse.session_id == sid)).one()
    errors = np.array(s.scalars(select(Pulse.position_error_mm).where(
        Pulse.session_id == sid, Pulse.position_error_mm.is_not(None))).all(), float)
    session_row.pulses_total = int(total)
    session_row.pulses_with_pose = int(with_pose)
    session_row.pulses_on_target = int(on_target)
    session_row.median_error_mm = float(np.median(errors)) if errors.size else None
    session_row.p95_error_mm = float(np.percentile(errors, 95)) if errors.size else None
    session_row.updated_utc = utc_now_iso()


class PulsesMixin(RecordsBase):
    """Pulse methods of :class:`navigation.records.repository.Records`."""

    def add_pulses(self, session_uid: str, pulses: Sequence[LoggedPulse]) -> int:
        """Store pulses not yet stored (idempotent on (session, index)); returns how many were
        new. The session's summary columns are refreshed in the same transaction. Two writers
        sending the same pulses at once (the sync and a re-index): the one that loses the race
        on the unique (session, index) retries and finds them stored."""
        for _attempt in range(4):
            try:
                return self._add_pulses_once(session_uid, pulses)
            except IntegrityError:
                continue
        return self._add_pulses_once(session_uid, pulses)

    def _add_pulses_once(self, session_uid: str, pulses: Sequence[LoggedPulse]) -> int:
        with self._db.session() as s:
            session_row = self._session_row(s, session_uid)
            if not pulses:
                return 0
            indexes = [int(p.index) for p in pulses]
            existing = set(s.scalars(select(Pulse.index).where(
                Pulse.session_id == session_row.id, Pulse.index.between(min(indexes), max(indexes)))))
            new_rows: dict[int, dict[str, Any]] = {}
            for pulse in pulses:
                if pulse.index not in existing and pulse.index not in new_rows:
                    new_rows[pulse.index] = _pulse_row(session_row.id, pulse)
            if new_rows:
                s.execute(insert(Pulse), list(new_rows.values()))
                refresh_pulse_summary(s, session_row)
            return len(new_rows)

    def pulses(self, session_uid: str) -> list[LoggedPulse]:
        """All stored pulses of a session, by index."""
        with self._db.session() as s:
            session_row = self._session_row(s, session_uid)
            table = Pulse.__table__
            rows = s.execute(select(table).where(table.c.session_id == session_row.id)
                             .order_by(table.c.index)).all()
        return [_logged_pulse(row) for row in rows]

    def course_pulse_positions(self, course_uid: str, *,
                               exclude_session_uid: str | None = None) -> dict[int, np.ndarray]:
        """Session number -> (n, 3) hotspot positions (mm, MRI frame) of the pulses with a known
        pose, for drawing where previous sessions' pulses landed around the target."""
        with self._db.session() as s:
            course = self._course_row(s, course_uid)
            query = (select(SessionRow.number, Pulse.x_mm, Pulse.y_mm, Pulse.z_mm)
                     .join(Pulse, Pulse.session_id == SessionRow.id)
                     .where(SessionRow.course_id == course.id, Pulse.x_mm.is_not(None))
                     .order_by(SessionRow.number, Pulse.index))
            if exclude_session_uid is not None:
                query = query.where(SessionRow.uid != exclude_session_uid)
            grouped: dict[int, list[tuple[float | None, float | None, float | None]]] = {}
            for number, x, y, z in s.execute(query):
                grouped.setdefault(int(number), []).append((x, y, z))
        return {number: np.array(points, float).reshape(-1, 3) for number, points in grouped.items()}

    def _course_id_of(self, s: Session, course_uid: str) -> int:
        return self._course_row(s, course_uid).id

    @staticmethod
    def _course_uid_of(s: Session, course_id: int) -> str:
        return s.scalars(select(Course.uid).where(Course.id == course_id)).one()
