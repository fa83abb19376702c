"""The fMRI target tab end to end on the sample head: File > Open sample fMRI run finds the planted
target, the target is added like any other (Planning list, undo, session), the correlation map is
drawn on the brain surface and on the slices (checked in screenshots for the map's colours), and
a cancelled run or a bad file leaves the app as it was with a clear message.

With TMSNAV_SCREENSHOT_DIR set, the overlay screenshot of docs/images is kept there.
The computation is long (seconds to a minute on a loaded machine), so every wait is for a
condition, with a generous timeout, never for a time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tmsnav.app.connectivity.compute_job import InputChoice
from tmsnav.app.connectivity.overlay_3d import CLUSTER_OVERLAY, MAP_OVERLAY
from tmsnav.app.connectivity.overlay_slices import LAYER
from tmsnav.navigation.session import Session
from tmsnav.navigation.targeting.targets import TargetSet

LONG_MS = 900_000      # the raw pipeline under a loaded 2-core machine


# ----- helpers ------------------------------------------------------------------------------
def _rgb(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, :3 * w] \
        .reshape(h, w, 3).astype(int)


def map_pixels(on: np.ndarray, off: np.ndarray) -> tuple[int, int]:
    """(colour-mapped pixels, of which blue) between a grab with the map and one without it (same
    view, same camera): pixels the map changed that are coloured, not grey; blue is the
    anticorrelated side of the diverging map, where the target is."""
    changed = np.abs(on - off).max(axis=-1) > 30
    coloured = changed & (on.max(axis=-1) - on.min(axis=-1) > 25)
    blue = coloured & (on[..., 2] > on[..., 0] + 15)
    return int(np.count_nonzero(coloured)), int(np.count_nonzero(blue))


def grabs_with_and_without_map(w) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((3-D, axial) with the map, (3-D, axial) without) via the Map toggle."""
    box = w.connectivity_panel.overlay_box
    on = (view3d_rgb(w), slice_rgb(w, "axial"))
    box.show_map.setChecked(False)
    off = (view3d_rgb(w), slice_rgb(w, "axial"))
    box.show_map.setChecked(True)
    return on, off


def view3d_rgb(w) -> np.ndarray:
    w.view3d.render_now()
    QtWidgets.QApplication.processEvents()
    shot = w.grab()             # the window grab includes the GL view (a widget grab may not)
    rect = QtCore.QRect(w.view3d.mapTo(w, QtCore.QPoint(0, 0)), w.view3d.size())
    return _rgb(shot.copy(rect).toImage())


def slice_rgb(w, name: str) -> np.ndarray:
    return _rgb(w.slices[name].grab().toImage())


def file_action(w, text: str) -> QtGui.QAction:
    return next(a for a in w.file_menu.actions() if a.text().replace("&", "") == text)


def wait_idle(qtbot, w, timeout=LONG_MS) -> None:
    qtbot.waitUntil(lambda: w.jobs.job is None, timeout=timeout)


def close_warning_box(w) -> None:
    box = w.planning_panel.__dict__.get("_warning_box")
    if box is not None and box.isVisible():
        box.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The user cache (sample run, MNI registration) in a temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def sample_fmriprep(tmp_path_factory):
    from tmsnav.navigation.connectivity.sample_run import write_sample_run

    return write_sample_run(tmp_path_factory.mktemp("fmri"), variant="fmriprep", n_volumes=200)


def open_sample_head(qtbot, w) -> None:
    w.open_sample_head()
    qtbot.waitUntil(lambda: w.head is not None and w.head.is_sample, timeout=120_000)
    wait_idle(qtbot, w)


def compute(qtbot, w, choice: InputChoice):
    panel = w.connectivity_panel
    before = panel.outcome
    panel.inputs.set_choice(choice)
    panel.compute()
    wait_idle(qtbot, w)
    return panel.outcome is not before


# ----- the demo: sample run from the menu ---------------------------------------------------
def test_sample_fmri_run_from_the_menu_finds_the_planted_target(qtbot, window, cache, tmp_path):
    w = window
    panel = w.connectivity_panel
    started = time.perf_counter()
    file_action(w, "Open sample fMRI run").trigger()          # opens the sample head first
    qtbot.waitUntil(lambda: w.head is not None and w.head.is_sample, timeout=120_000)
    session = Session.create(tmp_path / "S1", "S1")
    w.state.set_session(session)
    # the computation job: stage names in the progress, and the window answers clicks meanwhile
    qtbot.waitUntil(lambda: w.jobs.job is not None and w.jobs.job.objectName() == "Computing the fMRI target",
                    timeout=LONG_MS)
    steps: list[str] = []
    w.jobs.job.signals.progress.connect(lambda _f, msg: steps.append(msg))
    answered: list[tuple[float, bool]] = []
    w.cursorChanged.connect(lambda _p: answered.append((time.perf_counter(), w.jobs.busy)))
    view = w.slices["coronal"]
    latencies = []
    for k in range(5):
        if not w.jobs.busy:
            break
        qtbot.waitUntil(lambda: bool(steps) or not w.jobs.busy, timeout=LONG_MS)
        pos = QtCore.QPointF(view.width() * (0.4 + 0.04 * k), view.height() * 0.45)
        n = len(answered)
        sent = time.perf_counter()
        for kind in (QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease):
            QtWidgets.QApplication.postEvent(view, QtGui.QMouseEvent(
                kind, pos, view.mapToGlobal(pos), QtCore.Qt.MouseButton.LeftButton,
                QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier))
        qtbot.waitUntil(lambda n=n: len(answered) > n, timeout=30_000)
        latencies.append((answered[n][0] - sent) * 1000.0)
    print(f"\nclick -> cursor while computing: {', '.join(f'{ms:.0f}' for ms in latencies)} ms")
    assert latencies and answered[0][1], "the click was not answered while the job ran"
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=LONG_MS)
    print(f"menu item to target shown: {time.perf_counter() - started:.0f} s")
    wait_idle(qtbot, w)
    assert any(s.startswith("Connectivity: ") for s in steps), steps      # stage names shown
    truth = panel.sample_truth
    result = panel.outcome.result
    distance = float(np.linalg.norm(np.asarray(result.target_mri_mm) - truth.target_mri_mm))
    print(f"fMRIPrep-like sample: target {distance:.2f} mm from the planted one; r = "
          f"{result.correlation_at_target:+.2f}, stability {result.stability_mm:.1f} mm")
    assert distance < 3.0
    assert result.target_mni_mm[0] < -20, "the target must be in the LEFT DLPFC"
    evidence = panel.result_box.evidence_text()
    for words in ("r at target", "Cluster:", "Fox 2012", "F3", "Stability", f"{distance:.1f} mm from the planted"):
        assert words in evidence
    assert all(warning in evidence for warning in result.warnings)
    assert not panel.result_box.minimal_label.isVisibleTo(panel)
    assert w.state.mni is not None and "bundled sample-head" in w.state.mni.method

    # overlays: colour-mapped pixels in the 3-D view and on the slice through the target
    assert w.view3d.has_overlay(MAP_OVERLAY) and w.view3d.has_overlay(CLUSTER_OVERLAY)
    assert "r (correlation with sgACC)" in w.view3d.plotter.scalar_bars
    np.testing.assert_allclose(w.cursor_mri, result.target_mri_mm)
    shots = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))      # docs/images keeps it
    panel.ensureWidgetVisible(panel.result_box)
    QtWidgets.QApplication.processEvents()
    assert w.save_screenshot(shots / "connectivity-overlay.png")
    (on3d, on_axial), (off3d, off_axial) = grabs_with_and_without_map(w)
    coloured_3d, blue_3d = map_pixels(on3d, off3d)
    coloured_axial, blue_axial = map_pixels(on_axial, off_axial)
    print(f"map pixels (coloured, blue): 3-D {coloured_3d}, {blue_3d}; axial {coloured_axial}, {blue_axial}")
    assert coloured_3d > 500 and blue_3d > 200
    assert coloured_axial > 80 and blue_axial > 40
    box = panel.overlay_box
    box.threshold.setValue(0.95)                               # a high threshold clears the map
    assert map_pixels(slice_rgb(w, "axial"), off_axial)[0] < coloured_axial / 10
    assert map_pixels(view3d_rgb(w), off3d)[0] < coloured_3d / 10
    box.threshold.setValue(0.1)
    box.show_cluster.setChecked(False)
    assert not w.view3d.has_overlay(CLUSTER_OVERLAY)
    box.show_cluster.setChecked(True)
    assert w.view3d.has_overlay(CLUSTER_OVERLAY)
    box.opacity.setValue(100)
    assert map_pixels(slice_rgb(w, "axial"), off_axial)[0] >= coloured_axial * 0.8

    # the target: in the Planning list with its evidence, undoable, in the session
    panel.result_box.add_button.click()
    qtbot.waitUntil(lambda: any(t.source == "connectivity" for t in w.state.targets), timeout=120_000)
    wait_idle(qtbot, w)
    close_warning_box(w)
    target = w.state.targets.active
    assert target.source == "connectivity" and target.name == "fMRI sgACC target"
    np.testing.assert_allclose(target.cortex_point_mm, result.target_mri_mm)
    assert "Cash" in target.evidence.citation and "cluster" in target.evidence.why
    assert target.scalp_point_mm[0] < 0
    table = w.planning_panel.list_box.table
    assert any(table.item(r, 1) is not None and table.item(r, 1).text() == target.name
               for r in range(table.rowCount()))
    w.planning_panel.undo_stack.undo()
    assert target.name not in w.state.targets
    w.planning_panel.undo_stack.redo()
    assert target.name in w.state.targets
    saved = TargetSet.from_dict(Session.open(tmp_path / "S1").record.targets)
    assert saved[target.name].source == "connectivity"
    events = [json.loads(x) for x in (tmp_path / "S1" / "events.jsonl").read_text().splitlines()]
    assert f"added {target.name} (connectivity)" in [e.get("reason") for e in events]

    # another image: the result and every overlay go
    w.open_sample_head()
    qtbot.waitUntil(lambda: panel.outcome is None, timeout=120_000)
    wait_idle(qtbot, w)
    assert not w.view3d.has_overlay(MAP_OVERLAY) and not w.view3d.has_overlay(CLUSTER_OVERLAY)
    assert "r (correlation with sgACC)" not in w.view3d.plotter.scalar_bars
    assert all(LAYER not in v._layers for v in w.slices.values())
    assert not panel.result_box.add_button.isEnabled()


# ----- cancel and bad input -----------------------------------------------------------------
def test_cancel_and_a_bad_file_leave_the_previous_result_with_a_clear_message(
        qtbot, window, cache, tmp_path, sample_fmriprep, monkeypatch):
    w = window
    panel = w.connectivity_panel
    open_sample_head(qtbot, w)
    # Not known as the sample head and not registered: the job must run the MNI registration
    # first (here its cached result is the sample head's own transform), never use the identity.
    from tmsnav.app.connectivity.compute_job import sample_head_registration
    from tmsnav.navigation.targeting import mni_registration

    w.head.is_sample = False
    assert w.state.mni is None
    registered = []

    def register(volume, *, progress=None, cancel=None, **_):
        registered.append(volume)
        return sample_head_registration()

    monkeypatch.setattr(mni_registration, "cached_register_to_mni", register)
    good = InputChoice("fmriprep", str(sample_fmriprep.root), participant="01")
    assert compute(qtbot, w, good)
    first = panel.outcome
    assert registered == [w.head.volume] and w.state.mni is first.mni
    assert w.last_error is None and w.view3d.has_overlay(MAP_OVERLAY)
    (_, on_axial), (_, off_axial) = grabs_with_and_without_map(w)
    assert map_pixels(on_axial, off_axial)[0] > 50

    # Cancel while it computes: the previous result and overlays stay, no error box
    panel.compute()
    job = w.jobs.job
    assert job is not None
    seen: list[str] = []
    job.signals.progress.connect(lambda _f, m: seen.append(m))
    qtbot.waitUntil(lambda: bool(seen) or not w.jobs.busy, timeout=LONG_MS)
    w.cancel_button.click()
    wait_idle(qtbot, w)
    assert panel.outcome is first
    assert "cancelled" in w.statusBar().currentMessage()
    assert w.last_error is None
    assert w.view3d.has_overlay(MAP_OVERLAY)
    assert np.array_equal(slice_rgb(w, "axial"), on_axial), "the overlay changed although the run was cancelled"

    # a 3-D image given as the BOLD run: a message box naming the cause, nothing changed
    three_d = tmp_path / "t1_not_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((20, 20, 20), np.float32), np.eye(4)), str(three_d))
    compute(qtbot, w, InputChoice("bold", str(three_d)))
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=30_000)
    assert "3-D" in w.last_error or "3D" in w.last_error or "volume" in w.last_error.lower(), w.last_error
    assert "Traceback" not in w.last_error and "Unexpected" not in w.last_error
    assert w._error_box is not None and w._error_box.isVisible()
    assert panel.outcome is first and w.view3d.has_overlay(MAP_OVERLAY)
    w._error_box.close()

    # a participant the folder does not hold: the subjects it does hold are named
    w.last_error = None
    compute(qtbot, w, InputChoice("fmriprep", str(sample_fmriprep.root), participant="07"))
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=30_000)
    assert "sub-07" in w.last_error and "01" in w.last_error, w.last_error
    assert panel.outcome is first
    w._error_box.close()

    # a folder where a file is expected: refused at once, before any job
    w.last_error = None
    panel.inputs.set_choice(InputChoice("bold", str(tmp_path)))
    panel.compute()
    assert w.jobs.job is None and "is a folder" in (w.last_error or "")
    w._error_box.close()

    # a new brain surface under the shown result (e.g. the template brain arriving): the map is
    # sampled again onto it, not left floating on the old one
    head = w.head
    coarser = head.brain.decimate(0.5)
    w.brains._set_brain(head, (coarser, None))
    assert panel.surface_map is not None and panel.surface_map.lifted.n_points == coarser.n_points
    assert w.view3d.has_overlay(MAP_OVERLAY)

    # the window still works: a click moves the cursor, the result can be added
    view = w.slices["axial"]
    before = w.cursor_mri.copy()
    qtbot.mouseClick(view, QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(int(view.width() * 0.3), int(view.height() * 0.6)))
    assert not np.allclose(w.cursor_mri, before)
    panel.result_box.add_button.click()
    qtbot.waitUntil(lambda: any(t.source == "connectivity" for t in w.state.targets), timeout=120_000)
    wait_idle(qtbot, w)
    close_warning_box(w)


def test_without_an_image_the_tab_says_what_to_do(qtbot, window, cache, sample_fmriprep):
    w = window
    w.connectivity_panel.inputs.set_choice(InputChoice("fmriprep", str(sample_fmriprep.root), participant="01"))
    w.connectivity_panel.compute_button.click()
    assert w.jobs.job is None
    assert "Open the patient's T1 first" in (w.last_error or "")


# ----- the raw scanner run through the minimal pipeline --------------------------------------
def test_raw_sample_run_through_the_minimal_pipeline(qtbot, window, cache):
    w = window
    panel = w.connectivity_panel
    open_sample_head(qtbot, w)
    started = time.perf_counter()
    panel.open_sample_run("raw")
    qtbot.waitUntil(lambda: panel.outcome is not None or w.last_error is not None, timeout=LONG_MS)
    wait_idle(qtbot, w)
    assert w.last_error is None, w.last_error
    result = panel.outcome.result
    distance = float(np.linalg.norm(np.asarray(result.target_mri_mm) - panel.sample_truth.target_mri_mm))
    print(f"\nraw sample (minimal pipeline): target {distance:.2f} mm from the planted one, "
          f"{time.perf_counter() - started:.0f} s from writing the run to the target shown")
    assert distance < 3.0
    assert result.pipeline == "minimal" and panel.result_box.minimal_label.isVisibleTo(panel)
    assert "MINIMAL" in panel.result_box.evidence_text()
    (_, on_axial), (_, off_axial) = grabs_with_and_without_map(w)
    assert map_pixels(on_axial, off_axial)[0] > 50


@pytest.mark.safety(hazard="privacy",
                    control="an fMRIPrep folder named after the patient that holds no usable run leaves "
                            "no trace of the name in the log")
def test_a_failed_run_named_after_the_patient_leaves_no_name_in_the_log(qtbot, window, cache, tmp_path,
                                                                       monkeypatch):
    from tmsnav.app import logging_setup

    monkeypatch.setattr(logging_setup, "_identifying", set())
    log_dir = logging_setup.setup_logging("INFO", directory=tmp_path / "logs", stderr=False).parent
    try:
        open_sample_head(qtbot, window)
        folder = tmp_path / "Doe_Jane_1961"           # no extension: only the registration hides it
        (folder / "sub-01" / "anat").mkdir(parents=True)
        compute(qtbot, window, InputChoice("fmriprep", str(folder), participant="01"))
        qtbot.waitUntil(lambda: window.last_error is not None, timeout=30_000)
        assert "Doe_Jane_1961" in window.last_error   # the user sees which folder failed
        text = (log_dir / "tmsnav.log").read_text(encoding="utf-8")
        assert "fMRI target" in text and "<name>" in text                 # the failure is logged ...
        assert "Doe" not in text and "Jane" not in text and "1961" not in text, text   # ... without the name
    finally:
        logging_setup.close_logging()
