"""Step 5: collect scalp points with the pointer, then run the surface registration (ICP).

Points are kept at a minimum spacing
(:class:`~tmsnav.navigation.registration.sampling.SpacedPointCollector`)
and drawn on the head coloured by their distance to the MRI scalp under the fiducial
registration, so a lifted pointer or a bad fiducial shows at once. A point farther than
``MAX_OFF_SCALP_MM`` from the MRI scalp is not kept: the tip was in the air (the fiducial
registration is good to a few millimetres, far better than that). ``register`` runs on a worker
thread; the GUI stays live.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

from tmsnav.navigation.registration import RegistrationError, register
from tmsnav.navigation.registration.sides import MIN_CHECK_POINTS
from tmsnav.navigation.registration.coverage import head_axes_from_fiducials, scalp_coverage
from tmsnav.navigation.registration.icp import MIN_SURFACE_POINTS
from tmsnav.navigation.registration.sampling import SpacedPointCollector

from ..workers import Job
from .base import MessageLabel, StepWidget
from .overlays import DISTANCE_LEGEND_HTML, draw_points

__all__ = ["ScalpStep", "MAX_OFF_SCALP_MM", "compute_registration"]

MAX_OFF_SCALP_MM = 15.0
REDRAW_S = 0.25


def compute_registration(mri, touched, points, surface, targets, progress=None, cancel=None):
    """(fiducial-only result, fiducials + surface result); runs on the worker thread.

    The fiducial-only result is checked against the same points (left/right), so the Result
    step can compare the two honestly."""
    fid_only = register(mri, touched, scalp_points_reference=points, surface=surface,
                        refine=False, targets_mri=targets)
    full = register(mri, touched, scalp_points_reference=points, surface=surface,
                    targets_mri=targets, progress=progress, cancel=cancel)
    return fid_only, full


class ScalpStep(StepWidget):
    key = "scalp"
    title = "5. Scalp points"

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(ctx, parent)
        intro = QtWidgets.QLabel(
            "Press Start, then slide the pointer tip over the forehead, the top and both sides "
            "of the head, keeping it on the skin (avoid hair where you can). Press Stop before "
            "lifting the pointer. Aim for 100–500 points.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QtWidgets.QFormLayout()
        self.spacing = QtWidgets.QDoubleSpinBox()
        self.spacing.setObjectName("scalp_spacing")
        self.spacing.setRange(1.0, 10.0)
        self.spacing.setValue(3.0)
        self.spacing.setSuffix(" mm")
        form.addRow("Minimum spacing", self.spacing)
        self.layout_.addLayout(form)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("scalp_start")
        self.start_button.clicked.connect(self.toggle)
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setObjectName("scalp_clear")
        self.clear_button.clicked.connect(self.clear)
        self.add_buttons(self.start_button, self.clear_button)
        self.count = QtWidgets.QLabel("0 points")
        self.count.setObjectName("scalp_count")
        font = self.count.font()
        font.setPointSize(font.pointSize() + 3)
        font.setBold(True)
        self.count.setFont(font)
        self.layout_.addWidget(self.count)
        self.coverage = QtWidgets.QLabel("")
        self.coverage.setObjectName("scalp_coverage")
        self.coverage.setWordWrap(True)
        self.layout_.addWidget(self.coverage)
        legend = QtWidgets.QLabel(DISTANCE_LEGEND_HTML)
        legend.setWordWrap(True)
        legend.setStyleSheet("font-size: 8pt")
        self.layout_.addWidget(legend)
        self.live = QtWidgets.QLabel("")
        self.live.setObjectName("scalp_live")
        self.live.setStyleSheet("color: grey")
        self.live.setWordWrap(True)
        self.layout_.addWidget(self.live)
        self.register_button = QtWidgets.QPushButton("Register")
        self.register_button.setObjectName("scalp_register")
        self.register_button.clicked.connect(self.run_registration)
        self.skip_button = QtWidgets.QPushButton(
            f"Fiducials only (needs {MIN_CHECK_POINTS}+ scalp touches)")
        self.skip_button.setToolTip(
            "Registers with the fiducials alone. A few scalp touches (forehead, top, both "
            "sides) are still needed: with three fiducials a swapped LPA/RPA fits as well as "
            "the right order, and only the scalp shows it.")
        self.skip_button.setObjectName("scalp_skip")
        self.skip_button.clicked.connect(self.use_fiducials_only)
        self.add_buttons(self.register_button, self.skip_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.layout_.addWidget(self.progress)
        self.message = MessageLabel("scalp_message")
        self.layout_.addWidget(self.message)
        self.layout_.addStretch(1)
        self.collecting = False
        self._dirty = False
        self._last_ns = 0
        self.collector = SpacedPointCollector(self.spacing.value())
        self.distances: list[float] = []
        self.off_scalp = 0
        self.job: Job | None = None
        self._last_draw = 0.0
        self._update()

    # ----- collecting ---------------------------------------------------------------------
    def toggle(self) -> None:
        self.stop() if self.collecting else self.start()

    def start(self) -> None:
        if not self.ctx.fit_ok:
            self.message.show_message("Finish the fiducials first: the points are checked "
                                      "against the scalp with that registration.", "error")
            return
        if self.ctx.surface() is None:
            self.message.show_message("The head has no scalp surface to match.", "error")
            return
        self.collector.min_spacing_mm = self.spacing.value()
        self._last_ns = time.monotonic_ns()
        self.collecting = True
        self.message.show_message("")
        self._update()

    def stop(self) -> None:
        self.collecting = False
        self._store()
        self._draw(force=True)
        self._update()

    def clear(self) -> None:
        self.collector.clear()
        self.distances = []
        self.off_scalp = 0
        self._dirty = True
        self._store()
        self._draw(force=True)
        self._update()

    def _store(self) -> None:
        self.ctx.scalp_points = self.collector.points
        if self._dirty:
            self._dirty = False
            self.ctx.candidate = None             # the result must be computed again
            self.outputChanged.emit(False)

    def on_snapshot(self, snap) -> None:
        if not self.collecting:
            return
        point, why = self.ctx.paired_tip("reference")
        if point is None:
            self.live.setText(f"Not collecting: {why}")
            return
        samples = [(t, p) for t, p in self.ctx.paired_history("reference", self._last_ns)
                   if p is not None]
        if not samples:
            return
        self._last_ns = samples[-1][0]
        points = np.array([p for _, p in samples])
        mri_from_reference = self.ctx.working_mri_from_reference()
        distances = self.ctx.surface().closest(
            mri_from_reference.apply(points)).signed_distances_mm
        added = 0
        for p, d in zip(points, distances):
            if abs(d) > MAX_OFF_SCALP_MM:
                self.off_scalp += 1
            elif self.collector.offer(p):
                self.distances.append(float(d))
                added += 1
        d = float(distances[-1])
        self.live.setText(f"Tip {d:+.1f} mm from the MRI scalp." if abs(d) <= MAX_OFF_SCALP_MM
                          else f"Tip {d:+.0f} mm from the MRI scalp: not on the skin, ignored.")
        if added:
            self._dirty = True
            self.ctx.scalp_points = self.collector.points
            self._draw()
            self._update()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_S:
            return
        self._last_draw = now
        reg = self.ctx.working_mri_from_reference()
        pts = self.collector.points
        if reg is None or not len(pts):
            draw_points(self.ctx.window, np.zeros((0, 3)), None)
            return
        draw_points(self.ctx.window, reg.apply(pts), np.array(self.distances))

    def _update(self) -> None:
        n = len(self.collector)
        self.start_button.setText("Stop" if self.collecting else "Start")
        colour = "#2e7d32" if 100 <= n <= 500 else ("#ef6c00" if n >= MIN_SURFACE_POINTS
                                                     else "#c62828")
        self.count.setText(f"{n} points (aim for 100–500)")
        self.count.setStyleSheet(f"color: {colour}")
        extra = f"; {self.off_scalp} samples off the skin ignored" if self.off_scalp else ""
        text = ""
        if n:
            try:
                axes = head_axes_from_fiducials(self.ctx.mri_fiducials)
                reg = self.ctx.working_mri_from_reference()
                cov = scalp_coverage(reg.apply(self.collector.points), axes)
                text = " · ".join(f"{r} {c}" for r, c in cov.counts.items()) + ". " + cov.advice()
            except ValueError:
                text = ""
        self.coverage.setText(text + extra)
        busy = self.job is not None
        self.register_button.setEnabled(not busy and not self.collecting and
                                        n >= MIN_SURFACE_POINTS and self.ctx.fit_ok)
        self.skip_button.setEnabled(not busy and not self.collecting and self.ctx.fit_ok
                                    and n >= MIN_CHECK_POINTS)
        self.start_button.setEnabled(not busy)
        self.clear_button.setEnabled(not busy and n > 0)

    def capture(self) -> bool:
        """Footswitch: start / stop collecting."""
        self.toggle()
        return True

    # ----- registering --------------------------------------------------------------------
    def run_registration(self) -> None:
        ctx = self.ctx
        mri, touched = ctx.pairs()
        points, surface, targets = ctx.scalp_points.copy(), ctx.surface(), ctx.tre_targets()
        # parented to the application, not to this widget: closing the window while ICP runs
        # must not destroy a running thread; the signals go to bound methods, which Qt
        # disconnects if this step is gone by then
        job = Job(lambda progress, cancel: compute_registration(
            mri, touched, points, surface, targets, progress, cancel),
            name="registration", parent=QtCore.QCoreApplication.instance())
        job.signals.progress.connect(self._job_progress)
        job.signals.succeeded.connect(self._registered)
        job.signals.failed.connect(self._job_failed)
        job.signals.finished.connect(self._job_finished)
        self.job = job
        self.progress.setValue(0)
        self.progress.show()
        self.message.show_message("Matching the head surface…", "info")
        self._update()
        job.start()

    def _job_progress(self, fraction: float, _message: str) -> None:
        self.progress.setValue(int(1000 * fraction))

    def _job_failed(self, message: str) -> None:
        self.message.show_message(f"Surface registration refused: {message}", "error")

    def _job_finished(self) -> None:
        if self.job is not None:
            self.job.wait()
            self.job.deleteLater()
        self.job = None
        self.progress.hide()
        self._update()

    def _registered(self, results) -> None:
        fid_only, full = results
        self.ctx.fiducial_only, self.ctx.candidate = fid_only, full
        if full.accepted:
            self.message.show_message("Surface registration done: review it in the Result "
                                      "step.", "ok")
        else:
            self.message.show_message("Registration refused: " + (full.problems or ("",))[0],
                                      "error")
        self.outputChanged.emit(True)
        self.goTo.emit("result")

    def use_fiducials_only(self) -> None:
        """Fiducials only, checked against the scalp touches (left/right, distance)."""
        ctx = self.ctx
        mri, touched = ctx.pairs()
        points = ctx.scalp_points
        if len(points) < MIN_CHECK_POINTS:
            self.message.show_message(
                f"Touch the scalp first: press Start and slide over the forehead, the top and "
                f"both sides ({MIN_CHECK_POINTS} points at least), then Stop. With three "
                "fiducials only the scalp shows whether LPA and RPA were swapped.", "error")
            return
        try:
            result = register(mri, touched, scalp_points_reference=points.copy(),
                              surface=ctx.surface(), refine=False, targets_mri=ctx.tre_targets())
        except (RegistrationError, ValueError) as exc:
            self.message.show_message(f"Fiducial registration refused: {exc}", "error")
            return
        ctx.fiducial_only = ctx.candidate = result
        self.outputChanged.emit(True)
        self.goTo.emit("result")

    # ----- step protocol ------------------------------------------------------------------
    def enter(self) -> None:
        pts = self.ctx.scalp_points
        if len(pts) != len(self.collector):       # changed elsewhere (e.g. cleared by a new
            self.collector.clear()                # pointer calibration): same spacing rule
            for p in pts:
                self.collector.offer(p)
            self.ctx.scalp_points = self.collector.points
        self._recompute_distances()
        self._draw(force=True)
        self._update()

    def _recompute_distances(self) -> None:
        reg, surface = self.ctx.working_mri_from_reference(), self.ctx.surface()
        pts = self.collector.points
        if reg is None or surface is None or not len(pts):
            self.distances = []
            return
        self.distances = list(surface.closest(reg.apply(pts)).signed_distances_mm)

    def leave(self) -> None:
        if self.collecting:
            self.stop()

    def ready(self) -> tuple[bool, str]:
        if self.ctx.candidate is None:
            return False, "Press Register (or Skip: fiducials only) first."
        return True, ""

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(360, 560)
