"""Chairside guidance on the simulated tracker, and sessions saved, autosaved and reopened."""

import numpy as np
import pytest

from tmsnav.app.loading import LoadedHead
from tmsnav.app.main_window import MainWindow
from tmsnav.hardware.config import TrackerConfig
from tmsnav.hardware.simulation.coil import SIM_COIL_FILE
from tmsnav.navigation.coils import VERIFY_LANDMARKS, CoilDefinition, verify_coil_calibration
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp
from tmsnav.navigation.targeting.targets import Evidence, Target
from tmsnav.navigation.transforms import Frame, Transform
from tests.data_factories.mri_files import small_head, write_nifti

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def phantom_head():
    ph = make_phantom_head(voxel_mm=2.0)
    scalp = extract_scalp(ph.volume, max_faces=30_000)
    return ph, scalp


def left_frontal_target(ph) -> Target:
    direction = np.array([-0.45, 0.55, 0.7])
    points, normals = ph.scalp_point(direction / np.linalg.norm(direction))
    p, n = np.asarray(points).reshape(3), np.asarray(normals).reshape(3)
    inward = -n / np.linalg.norm(n)
    handle = np.cross(inward, [1.0, 0.0, 0.0])
    handle /= np.linalg.norm(handle)
    return Target("L-DLPFC test", p, inward, handle, "manual", Evidence("test", "phantom target"))


def test_guidance_reads_small_error_when_coil_holds_on_target_and_dashes_when_lost(window, qtbot, phantom_head):
    ph, scalp = phantom_head
    fids = {"nasion": ph.nasion, "lpa": ph.lpa, "rpa": ph.rpa}
    window._on_head_loaded(LoadedHead(ph.volume, scalp, None, fids))
    target = left_frontal_target(ph)
    assert target.scalp_point_mm[0] < 0  # left hemisphere
    window.state.targets.add(target)
    window.state.targets.select(target.name)
    window.state.targets_edited("test")
    window.connect_tracker(TrackerConfig.parse(
        "sim:coil_approach?approach_s=0.5&place_s=0.5&hold_s=30"))
    qtbot.waitUntil(lambda: window.tracking.tracker_ref is not None, timeout=3000)
    truth = window.tracking.tracker_ref.truth
    coil = CoilDefinition.load(SIM_COIL_FILE)             # the simulated coil's own file
    window.state.set_coil(coil, coil.coil_from_hotspot)
    # the Coil step's verification touches (walked in test_coil_verification_gui.py)
    touched = {n: Transform(Frame.COIL, Frame.HOTSPOT, truth.coil_from_hotspot).apply(
        coil.landmarks_hotspot_mm[n]) for n in VERIFY_LANDMARKS}
    window.state.set_coil_verification(verify_coil_calibration(coil.coil_from_hotspot, touched,
                                                               coil))
    mri_from_reference = Transform(Frame.REFERENCE, Frame.MRI, truth.reference_from_head).inverse()
    window.state.registration = type("R", (), {"mri_from_reference": mri_from_reference})()
    window.state.registration_verified = True    # scalp touches agreed (test_verify_gate.py)
    panel = window.guidance_panel
    qtbot.waitUntil(lambda: panel.last_error is not None and panel.last_error.in_plane_mm < 3.0,
                    timeout=10_000)
    err = panel.last_error
    assert err.in_plane_mm < 3.0 and abs(err.depth_mm) < 3.0 and np.rad2deg(err.tilt_rad) < 5
    assert panel.values["in_plane"].text().endswith("mm")
    # the large chairside view shows the very same numbers (without the unit) at every update
    big = window.chairside.view
    window.chairside.set_large(True)
    qtbot.waitUntil(lambda: big.values["right"].text() != "—", timeout=3000)
    for key in ("in_plane", "anterior", "right"):
        assert panel.values[key].text() == big.values[key].text() + " mm"
    assert big.bullseye.error is panel.last_error
    window.tracking.tracker_ref.forced_missing.add("coil")
    qtbot.waitUntil(lambda: panel.values["in_plane"].text() == "—", timeout=3000)
    assert panel.last_error is None and panel.bullseye.error is None
    assert "coil" in panel.bullseye.message
    assert "color" not in panel.values["in_plane"].styleSheet()    # a dash is never green
    assert all(big.values[k].text() == "—" for k in ("in_plane", "tilt", "anterior", "right"))
    assert big.bullseye.error is None and big.bullseye.message == panel.bullseye.message


def test_session_create_reopen_restores_targets_not_registration(window, qtbot, tmp_path):
    data, affine = small_head()
    image = write_nifti(tmp_path / "t1.nii.gz", data, affine)
    with qtbot.waitSignal(window.headLoaded, timeout=30_000):
        window.open_image(image)
    session = window.sessions.create(tmp_path / "sessions" / "P007", "P007")
    assert session.image("T1").sha256 == window.head.volume.sha256
    target = Target("F3", [-40, 30, 40], [0.6, -0.6, -0.529150262], [0.0, -0.661437828, 0.75],
                    "manual", Evidence("test", "why"))
    window.state.targets.add(target)
    window.state.targets_edited("added F3")
    window.state.registration = None
    window.close()

    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.headLoaded, timeout=30_000):
        other.sessions.open(tmp_path / "sessions" / "P007", restore_autosave=False)
    assert other.state.targets.names == ["F3"]
    assert other.state.mri_from_reference is None
    assert other.state.session.record.patient_id == "P007"
    other.close()


def test_autosave_offers_restore_of_unsaved_changes(window, qtbot, tmp_path):
    session = window.sessions.create(tmp_path / "s", "P1")
    session.record.notes = "typed but never saved"
    window.sessions.autosave()
    window.close()
    other = MainWindow()
    qtbot.addWidget(other)
    other.sessions.open(tmp_path / "s", restore_autosave=True)
    assert other.state.session.record.notes == "typed but never saved"
    other.close()
