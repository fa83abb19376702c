"""Navigate view: where the course's previous sessions' pulses landed, as small coloured points.

Re-finding the same target every day after a new registration is the point of navigation over a
course; seeing yesterday's pulses around today's target shows at a glance whether today's coil
sits where the earlier ones did. The positions are the hotspot of each pulse in the MRI frame
(:meth:`Records.course_pulse_positions`), so they are comparable across sittings whatever each
day's registration was; today's own pulses are excluded (the Treatment tab shows those).

Cheap by construction: one point cloud (one VTK actor) for all sessions, coloured per session
(categorical palette, a legend naming each session number), an even subsample of at most
:data:`MAX_PER_SESSION` points per session and :data:`MAX_POINTS` in all. Measured on the sample
head under software GL (llvmpipe, 700x600 view): a render took 18 ms without the cloud, 52 ms with
all 43 500 points of 29 sessions x 1500, 25 ms with 300 per session and 20 ms with 100, so 30
sessions cost a few ms per frame while the Navigate view redraws at up to 30 Hz. A checkbox on
the Navigate tab turns it off.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6 import QtCore, QtWidgets

from .pulse_overlay import draw_cloud, even_subsample, legend_actor
from .pulse_overlay import rgb as _rgb

log = logging.getLogger(__name__)

__all__ = ["PreviousPulses", "MAX_PER_SESSION", "MAX_POINTS", "PALETTE", "RECENT", "OLDER", "build_cloud",
           "OVERLAY", "LEGEND"]

MAX_PER_SESSION = 300
MAX_POINTS = 6000
RECENT = 9                      # the latest sessions drawn in their own colours
OLDER = "#8d939b"               # earlier ones, one grey
OVERLAY, LEGEND = "previous_pulses", "previous_pulses_legend"
#: Tableau 10 (distinct on the dark 3-D background and for common colour-vision deficiencies).
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")


def build_cloud(positions: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(points (n,3) mm, colours (n,3) uint8, legend [(session number, colour)]) from
    ``course_pulse_positions``; non-finite rows dropped, each session subsampled evenly.

    The :data:`RECENT` latest sessions get distinct colours; older ones share :data:`OLDER` grey
    under one legend entry numbered 0 ("earlier sessions"), so no two sessions are told apart by a
    colour they share and the legend stays short on a 30-session course."""
    pts, cols, legend = [], [], []
    numbers = [n for n in sorted(positions) if np.isfinite(np.asarray(positions[n], float)).all(axis=-1).any()]
    per_session = max(1, min(MAX_PER_SESSION, MAX_POINTS // max(1, len(numbers))))
    older = numbers[:-RECENT] if len(numbers) > RECENT else []
    for number in numbers:
        p = np.asarray(positions[number], float).reshape(-1, 3)
        p = p[np.all(np.isfinite(p), axis=1)]
        p = even_subsample(p, per_session)
        colour = OLDER if number in older else PALETTE[(numbers.index(number) - len(older)) % len(PALETTE)]
        pts.append(p)
        cols.append(np.tile(np.array(_rgb(colour), np.uint8), (len(p), 1)))
        if number not in older:
            legend.append((number, colour))
    if older:
        legend.insert(0, (0, OLDER))
    if not pts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8), []
    return np.vstack(pts), np.vstack(cols), legend


class PreviousPulses(QtCore.QObject):
    """Owns the overlay and its checkbox (added to the Navigate tab)."""

    shown = QtCore.Signal(int)               # points drawn (0: none or hidden)

    def __init__(self, window, controller, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.controller = controller
        self.positions: dict[int, np.ndarray] = {}
        self.n_points = 0
        self.checkbox = QtWidgets.QCheckBox("Show previous sessions' pulses")
        self.checkbox.setObjectName("previous_pulses")
        self.checkbox.setChecked(True)
        self.checkbox.setToolTip("Where this course's earlier sessions delivered their pulses "
                                 "(one colour per session, legend in the 3-D view)")
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("previous_pulses_summary")
        self.summary.setWordWrap(True)
        panel = window.guidance_panel
        layout = panel.layout()
        at = layout.indexOf(panel.mark_button)
        layout.insertWidget(at, self.summary)
        layout.insertWidget(at, self.checkbox)
        self.checkbox.toggled.connect(lambda _on: self.draw())
        window.state.sessionChanged.connect(lambda _s: self.reload())
        window.state.targetsChanged.connect(self._update_summary)
        controller.opened.connect(lambda _r: self.reload())
        self.reload()

    def reload(self) -> None:
        session = self.window.state.session
        course_uid = getattr(session.record, "course_uid", "") if session is not None else ""
        if not course_uid or self.controller.records is None:
            self._set({})
            return
        today = str(session.record.session_id)
        self.controller.call(lambda r: r.course_pulse_positions(course_uid, exclude_session_uid=today),
                             self._set, lambda _e, m: self.summary.setText(f"Previous pulses not available: {m}"),
                             owner=self.checkbox, name="previous pulses")

    def _set(self, positions: dict[int, np.ndarray]) -> None:
        arrays = {int(k): np.asarray(v, float).reshape(-1, 3) for k, v in positions.items()}
        self.positions = {k: p[np.all(np.isfinite(p), axis=1)] for k, p in arrays.items()}
        self.positions = {k: p for k, p in self.positions.items() if len(p)}
        self.draw()

    def _distances(self) -> dict[int, float]:
        """Session number -> median distance (mm) of its pulses from the active target's scalp point."""
        target = self.window.state.targets.active
        if target is None:
            return {}
        point = np.asarray(target.scalp_point_mm, float)
        return {n: float(np.median(np.linalg.norm(p - point, axis=1)))
                for n, p in self.positions.items() if len(p)}

    def _update_summary(self) -> None:
        n = sum(len(p) for p in self.positions.values())
        if not n:
            self.summary.setText("")
            return
        d = self._distances()
        recent = sorted(d.items())[-5:]                   # the last five: a line, not a paragraph
        far = ("… " if len(d) > len(recent) else "") + ", ".join(f"S{k} {v:.1f} mm" for k, v in recent)
        self.summary.setText(f"{len(self.positions)} previous sessions, {n} pulses"
                             + (f"; median distance from the target: {far}" if far else ""))

    def draw(self) -> None:
        view = self.window.view3d
        points, colours, legend = build_cloud(self.positions)
        self._update_summary()
        if not self.checkbox.isChecked() or not len(points):
            self.n_points = draw_cloud(view, OVERLAY, LEGEND, None, None)
            self.shown.emit(0)
            return
        d = self._distances()
        texts = {n: f"Session {n}" + (f" ({d[n]:.1f} mm)" if n in d else "") for n, _c in legend}
        shown = {n for n, _c in legend}
        earlier = [n for n in sorted(self.positions) if n not in shown]
        if earlier:
            texts[0] = f"Sessions {earlier[0]}–{earlier[-1]}" if len(earlier) > 1 else f"Session {earlier[0]}"
        box = legend_actor([(texts.get(n, f"Session {n}"), colour) for n, colour in legend],
                           left=0.70, top=0.97, width=0.29)
        self.n_points = draw_cloud(view, OVERLAY, LEGEND, points, colours, box, spheres=True,
                                   point_size=6)
        self.shown.emit(self.n_points)
