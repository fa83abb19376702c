"""Shared pieces of the registration GUI tests: the phantom and sample heads with a DLPFC-like
target, clicking, screenshots (saved when TMSNAV_SCREENSHOT_DIR is set), and holding the
simulated technician in a phase with a scenario clock until the app has seen it."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from tmsnav.app.loading import LoadedHead
from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp, extract_surface_from_mask
from tmsnav.navigation.targeting.targets import Evidence, Target

DLPFC_DIRECTION = np.array([-0.5, 0.6, 0.62])     # left, anterior, superior
DLPFC_DEPTH_MM = 17.0


@lru_cache(maxsize=1)
def phantom_and_head():
    """The 2 mm phantom (exact truth) as a loaded head with its nasion / LPA / RPA marked."""
    ph = make_phantom_head(2.0)
    scalp = extract_scalp(ph.volume)
    brain = extract_surface_from_mask(ph.brain_mask, ph.volume.mri_from_voxel, max_faces=20000)
    fiducials = {"nasion": np.array(ph.nasion), "lpa": np.array(ph.lpa), "rpa": np.array(ph.rpa)}
    return ph, LoadedHead(ph.volume, scalp, brain, fiducials)


def dlpfc_target(head) -> Target:
    """A point 17 mm under the left frontal scalp (the accuracy requirement's target), found on
    any head from its fiducials: a ray from the middle of the head toward left-anterior-superior
    (head axes from nasion / LPA / RPA) meets the scalp; the target is 17 mm inward from there."""
    from tmsnav.navigation.registration import SurfaceIndex
    from tmsnav.navigation.registration.coverage import (CENTRE_ABOVE_EAR_LINE_MM,
                                                         head_axes_from_fiducials)
    from tmsnav.navigation.targeting.scalp_geometry import ray_hit

    axes = head_axes_from_fiducials(head.fiducials_mm)
    up = axes.superior / np.linalg.norm(axes.superior)
    centre = axes.origin + CENTRE_ABOVE_EAR_LINE_MM * up
    d = DLPFC_DIRECTION[0] * axes.right + DLPFC_DIRECTION[1] * axes.anterior \
        + DLPFC_DIRECTION[2] * up
    d /= np.linalg.norm(d)
    point = ray_hit(head.scalp, centre + 250.0 * d, -d, 250.0)
    outward = SurfaceIndex(head.scalp).closest(point[None]).normals[0]
    normal = -outward
    handle = np.cross(normal, axes.right)
    handle /= np.linalg.norm(handle)
    return Target(name="L-DLPFC", scalp_point_mm=point, normal=normal, handle_direction=handle,
                  source="manual", evidence=Evidence("test", "DLPFC-like target for the test"),
                  cortex_point_mm=point + DLPFC_DEPTH_MM * normal)


@lru_cache(maxsize=1)
def workflow_head():
    """The bundled sample head (a real head shape, marked fiducials) when it is installed, else
    the phantom: what the whole-workflow test registers."""
    try:
        from tmsnav.app.loading import load_sample_head

        return "sample head", load_sample_head()
    except (ImportError, NavigationError):
        return "phantom", phantom_and_head()[1]


def load(window, with_target: bool = True):
    """Show the workflow head (sample head, else phantom) with a DLPFC-like active target."""
    _name, head = workflow_head()
    window._on_head_loaded(head)
    if with_target:
        window.state.targets.add(dlpfc_target(head))
        window.state.targets_edited("test target")
    window.panels.setCurrentWidget(window.registration_panel)
    return head


def upper_scalp_points(head, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` scalp-mesh vertices above the ear line (where a sweep goes), mri mm."""
    from tmsnav.navigation.registration.coverage import head_axes_from_fiducials

    axes = head_axes_from_fiducials(head.fiducials_mm)
    up = axes.superior / np.linalg.norm(axes.superior)
    pts = np.asarray(head.scalp.points, float)
    pts = pts[(pts - axes.origin) @ up > 20.0]
    return pts[rng.choice(len(pts), n, replace=False)]


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.objectName()} is disabled"
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def press_until_taken(qtbot, button, taken, message, attempts: int = 20, action=None) -> None:
    """Press a capture ``button`` (or run ``action()``, e.g. the footswitch key) until
    ``taken()``. A press refused only because the newest frame was a few ms past its staleness
    limit (on a loaded machine the GUI thread can keep the acquisition thread waiting) is
    pressed again, after new frames came, as a technician would; any other refusal fails the
    test with its message."""
    window = button.window()
    for _ in range(attempts):
        wait_new_frames(qtbot, window)
        if action is None:
            click(qtbot, button)
        else:
            action()
        if taken():
            return
        assert "stale" in message.text(), message.text()
    raise AssertionError(f"never taken after {attempts} presses: {message.text()}")


def shot(window, name: str) -> None:
    folder = os.environ.get("TMSNAV_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert window.save_screenshot(Path(folder) / f"{name}.png")


def error_at(mri_from_reference, reference_from_head: np.ndarray, point_mri) -> float:
    """|registered - true| at a point, mm (head = the MRI frame in the simulator)."""
    p = np.asarray(point_mri, float)
    p_ref = reference_from_head[:3, :3] @ p + reference_from_head[:3, 3]
    return float(np.linalg.norm(mri_from_reference.apply(p_ref) - p))


def wait_new_frames(qtbot, window, timeout_ms: int = 10_000) -> None:
    """Wait until the app holds a frame of every tool read after now (e.g. after the scenario
    clock moved): what the GUI shows from then on is the new scene, however late the threads."""
    since = time.monotonic_ns()

    def fresh() -> bool:
        acq = window.tracking.acquisition
        frames = acq.latest_all() if acq is not None else {}
        return bool(frames) and all(f.host_time_ns > since for f in frames.values())

    qtbot.waitUntil(fresh, timeout=timeout_ms)


def hold_in_phase(qtbot, window, clock, scenario, phase: str, occurrence: int = 0,
                  where: float = 0.5) -> None:
    """Pause the simulated technician ``where`` (0-1) of the way into ``phase`` and return once
    the app has frames from there: the hold lasts as long as the test needs, on any machine."""
    start, end = scenario.window(phase, occurrence)
    clock.pause()
    clock.jump_to(scenario, phase, where * (end - start), occurrence)
    # a frame read just before the jump may be stamped just after it: wait for the phase the
    # tracker reports, then for frames read after that, so what the app holds is from ``phase``
    qtbot.waitUntil(lambda: window.tracking.tracker_ref.phase == phase, timeout=10_000)
    wait_new_frames(qtbot, window)
    assert window.tracking.tracker_ref.phase == phase


def wait_until_step_sees_tip(qtbot, fid, timeout_ms: int = 30_000) -> None:
    """Wait until the fiducial step has seen the tracked tip where it rests when the step opens.
    What the tip rests on then is never taken as a landmark (the divot guard), so a simulated
    technician who jumps onto the nasion before the step's first look (a loaded machine's GUI
    tick came late) would never be armed; a real one takes far longer than a tick to get there."""
    qtbot.waitUntil(lambda: not fid._arm_after_move, timeout=timeout_ms)


class Technician:
    """The simulated technician on a :class:`ScenarioClock`: held in a phase until the app has
    done what the test waits for, or played through the phases that are movement."""

    def __init__(self, qtbot, window, clock, scenario=None):
        self.qtbot, self.window, self.clock = qtbot, window, clock
        self._scenario = scenario

    @property
    def scenario(self):
        if self._scenario is not None:
            return self._scenario
        self.qtbot.waitUntil(lambda: self.window.tracking.tracker_ref is not None, timeout=30_000)
        return self.window.tracking.tracker_ref.scenario

    def hold(self, phase: str, occurrence: int = 0, where: float = 0.5) -> None:
        hold_in_phase(self.qtbot, self.window, self.clock, self.scenario, phase, occurrence,
                      where)

    def hold_until(self, phase: str, condition, timeout_ms: int = 30_000) -> None:
        """Hold in ``phase`` until ``condition()`` (e.g. the hold-still capture took it)."""
        self.hold(phase)
        self.qtbot.waitUntil(condition, timeout=timeout_ms)

    def play(self, first_phase: str, until_phase: str | None = None, speed: float = 1.0,
             offset_s: float = 0.0, until_s: float | None = None) -> None:
        """Jump to ``first_phase`` (+ ``offset_s``) and play at ``speed``; hold at the start of
        ``until_phase`` (or at scenario time ``until_s``) should the app be slower than the
        script."""
        until = until_s if until_phase is None else self.scenario.window(until_phase)[0] + 0.05
        self.clock.pause()
        self.clock.jump_to(self.scenario, first_phase, offset_s)
        self.clock.play(speed, until_s=until)
        wait_new_frames(self.qtbot, self.window)

    def verify_coil(self, coil, landmarks=("centre", "handle_end", "left_wing_edge")) -> None:
        """Touch the coil's verification landmarks, each held until the capture took it."""
        for name in landmarks:
            self.hold_until(f"touching coil {name.replace('_', ' ')}",
                            lambda n=name: coil.verifier.asked() != n or coil.verified)
