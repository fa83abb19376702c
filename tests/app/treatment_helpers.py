"""Shared set-up of the Treatment tab GUI tests: the phantom head navigated with the simulated
tracker (registration and coil calibration set to the simulator's truth), the hidden truth of the
coil pose at any instant, and the stimulator box driven by clicks.

Fixtures: import them by their function names (``phantom_head_fixture``, ``magpro_fixture``);
pytest knows them by ``name`` (``phantom_head``, ``magpro``)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from tmsnav.app.loading import LoadedHead
from tmsnav.hardware.config import TrackerConfig
from tmsnav.hardware.simulation.coil import SIM_COIL_FILE
from tmsnav.hardware.stimulators.magventure.emulator import MagProEmulator
from tmsnav.navigation.coils import VERIFY_LANDMARKS, CoilDefinition, verify_coil_calibration
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp
from tmsnav.navigation.transforms import Frame, Transform

from tests.app.test_guidance_session_gui import left_frontal_target  # the same phantom target

WAIT_MS = 15_000


@pytest.fixture(scope="module", name="phantom_head")
def phantom_head_fixture():
    """The phantom head (2 mm voxels) and its scalp (20k faces)."""
    ph = make_phantom_head(voxel_mm=2.0)
    return ph, extract_scalp(ph.volume, max_faces=20_000)


@pytest.fixture(name="magpro")
def magpro_fixture():
    """An emulated MagVenture MagPro serving on a pty."""
    emulator = MagProEmulator()
    emulator.serve_pty()
    yield emulator
    emulator.stop()


def calibrate_simulated_coil(window, truth) -> None:
    """Start of a sitting: the coil file's calibration and its landmark check, touched where the
    simulator's hidden truth (``truth``: the running simulated tracker's ``SimulationTruth``) has them."""
    coil = CoilDefinition.load(SIM_COIL_FILE)
    window.state.set_coil(coil, coil.coil_from_hotspot)
    touched = {n: Transform(Frame.COIL, Frame.HOTSPOT, truth.coil_from_hotspot).apply(
        coil.landmarks_hotspot_mm[n]) for n in VERIFY_LANDMARKS}
    window.state.set_coil_verification(verify_coil_calibration(coil.coil_from_hotspot, touched, coil))


def trust_simulated_tracker(window, truth) -> None:
    """The coil calibrated and verified and the registration set to the simulator's hidden truth:
    Navigate shows the coil."""
    calibrate_simulated_coil(window, truth)
    mri_from_reference = Transform(Frame.REFERENCE, Frame.MRI, truth.reference_from_head).inverse()
    window.state.registration = type("R", (), {"mri_from_reference": mri_from_reference})()
    window.state.registration_verified = True


def navigate_on_phantom(window, qtbot, ph, scalp) -> None:
    """Head, target, simulated tracker holding the coil on the target, calibrated coil, verified
    registration (the same set-up as tests/app/test_guidance_session_gui.py)."""
    window._on_head_loaded(LoadedHead(ph.volume, scalp, None, {"nasion": ph.nasion, "lpa": ph.lpa,
                                                                "rpa": ph.rpa}))
    target = left_frontal_target(ph)
    window.state.targets.add(target)
    window.state.targets.select(target.name)
    window.state.targets_edited("test")
    window.connect_tracker(TrackerConfig.parse("sim:coil_approach?approach_s=0.5&place_s=0.5&hold_s=120"))
    qtbot.waitUntil(lambda: window.tracking.tracker_ref is not None, timeout=WAIT_MS)
    trust_simulated_tracker(window, window.tracking.tracker_ref.truth)
    panel = window.guidance_panel
    qtbot.waitUntil(lambda: panel.last_error is not None and panel.last_error.in_plane_mm < 3.0,
                    timeout=WAIT_MS)


def true_mri_from_hotspot(window, host_time_ns: int) -> np.ndarray:
    """Where the hotspot really was at ``host_time_ns`` (the simulator's hidden truth)."""
    tracker = window.tracking.tracker_ref
    t_s = (host_time_ns - tracker._t0_ns) / 1e9          # the scenario's time at that instant
    poses = tracker.scenario.poses_at(t_s)
    truth = tracker.truth
    mri_from_reference = np.linalg.inv(truth.reference_from_head)
    return (mri_from_reference @ np.linalg.inv(poses["reference"]) @ poses["coil"]
            @ truth.coil_from_hotspot)


def connect_box(window, qtbot, port: str, model: str = "magventure"):
    window.panels.setCurrentWidget(window.treatment_panel)
    box = window.treatment_panel.stimulator
    box.model.setCurrentIndex(box.model.findData(model))
    box.port.setCurrentText(port)
    qtbot.mouseClick(box.connect_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.bridge.last is not None and box.bridge.last.connected
                    and box.arm_button.isEnabled(), timeout=WAIT_MS)
    return box


def click(qtbot, button, *, visible: bool = True) -> None:
    """Click ``button`` like a user: it must be enabled (and, unless ``visible=False``, shown)."""
    assert button.isEnabled() and (button.isVisible() or not visible), button.objectName() or button.text()
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def arm(qtbot, box) -> None:
    click(qtbot, box.arm_button)
    qtbot.waitUntil(lambda: box.bridge.armed and box.bridge.last.ready and box.fire_button.isEnabled(),
                    timeout=WAIT_MS)


def pulses(window):
    return window.treatment_panel.recorder.log.pulses
