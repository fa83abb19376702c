"""The qEEG tab end to end: the sample head, the sample EEG through File > Open sample EEG, the
measures on screen against the generator's planted truth, the measure painted on the 3-D scalp
(pixels on the head, not only the colour bar), the suggestion and "Add as target" (a left F3-area
target with its evidence, undoable); a bad file gives its message and leaves the tab usable;
Cancel stops the job. Set TMSNAV_SCREENSHOT_DIR to keep the screenshot (docs/images is made
that way)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tmsnav.app.eeg import panel as panel_module
from tmsnav.app.eeg.measures_box import faa_words, measure_values
from tmsnav.app.eeg import scalp_view
from tmsnav.app.eeg.scalp_view import ELECTRODE_OVERLAY, MAP_OVERLAY
from tmsnav.app.eeg.suggestion_box import DECISION_SUPPORT
from tmsnav.navigation.eeg.bids_electrodes import write_bids_electrodes

from tests.app.planning_helpers import open_planning_window

pytestmark = pytest.mark.gui


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The sample EEG is written to the user cache: a temporary one per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def menu_action(window, text: str):
    for action in window.file_menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no File menu item {text!r}")


def open_sample_eeg(window, qtbot):
    panel = window.qeeg_panel
    with qtbot.waitSignal(panel.resultShown, timeout=120_000):
        menu_action(window, "Open sample EEG").trigger()
    assert window.wait_for_job(30_000)
    return panel.result


def sample_truth(tmp_path: Path):
    """What the menu's sample recording holds: the generator is deterministic (seed 0), so the
    same call writes the same file and returns its planted truth."""
    from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg

    return write_sample_eeg(tmp_path / "truth.edf")


def head_pixels(plain: np.ndarray) -> np.ndarray:
    """Pixels of the render without the map that show skin: warm, bright, red > blue."""
    r, g, b = (plain[..., i] for i in range(3))
    return (r > 90) & (r > b + 25) & (r >= g)


def keep_screenshot(widget, name: str, tmp_path: Path) -> Path:
    out = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    for _ in range(20):
        QtWidgets.QApplication.processEvents()
    assert widget.grab().save(str(path), "PNG")
    return path


# ----- pure helpers: the words and units the clinician reads ------------------------------------
def test_asymmetry_words_follow_the_sign_convention():
    """FAA = ln F4 - ln F3: negative is relatively less LEFT activity (a swapped sign in the
    words would tell the clinician the opposite hemisphere)."""
    assert "LESS left-frontal" in faa_words(-0.3) and "ln F4 - ln F3" in faa_words(-0.3)
    assert "MORE left-frontal" in faa_words(+0.3)
    assert "more alpha over F3 than F4" in faa_words(-0.3)
    assert "more alpha over F7 than F8" in faa_words(-0.2, "F8/F7")
    assert "not available" in faa_words(None)


def test_absolute_power_is_shown_in_microvolts_squared():
    class M:
        band_power_abs = {"F3": {"alpha": 4e-12}, "F4": {"alpha": 1e-12}}
        band_power_rel = {"F3": {"alpha": 0.4}, "F4": {"alpha": 0.1}}
        zscores = {"F3": {"alpha": 1.0}, "F4": {"alpha": -1.0}}

    values, unit = measure_values(M, "abs:alpha")
    assert unit == "µV²" and values == pytest.approx({"F3": 4.0, "F4": 1.0})
    values, unit = measure_values(M, "rel:alpha")
    assert unit == "%" and values == pytest.approx({"F3": 40.0, "F4": 10.0})


# ----- the whole tab on the sample head -----------------------------------------------------------
def test_sample_eeg_on_the_sample_head_map_suggestion_and_target(window, qtbot, cache, tmp_path, monkeypatch):
    window.open_sample_head()
    assert window.wait_for_job(180_000) and window.head is not None
    window.panels.setCurrentWidget(window.qeeg_panel)
    view = window.view3d
    result = open_sample_eeg(window, qtbot)
    truth = sample_truth(tmp_path)
    panel = window.qeeg_panel
    m = result.measures

    # measures against the planted truth, and on screen
    assert m.iaf_hz == pytest.approx(truth.iaf_hz, abs=0.25)
    assert panel.path.read_bytes() == truth.path.read_bytes()        # the same recording
    assert truth.expected_faa_f4_f3 < -0.2 and np.sign(m.faa_f4_f3) == np.sign(truth.expected_faa_f4_f3)
    summary = panel.measures_box.summary.text()
    assert f"IAF {m.iaf_hz:.2f} Hz" in summary and "plain peak pick" in summary
    assert faa_words(m.faa_f4_f3, "F4/F3") in summary
    assert "theta/beta ratio at Cz" in summary and "Hz" in summary
    assert "No open normative qEEG database" in panel.findChild(QtWidgets.QLabel, "qeeg_no_norms").text()
    assert panel.measures_box.table.rowCount() == len(m.band_power_abs)

    # what was rejected is listed: the planted blinks/muscle as segments with times and reasons
    rejected = panel.load_box.rejected.toPlainText()
    assert "s of clean data kept" in rejected and "segment " in rejected and "rejected:" in rejected

    # the measure painted on the 3-D scalp: the same view with and without the map differs on
    # most skin pixels (the colour bar alone could not do that)
    assert panel.last_map is not None and np.isfinite(panel.last_map).sum() > 1000
    assert view.has_overlay(MAP_OVERLAY) and view.has_overlay(ELECTRODE_OVERLAY)
    view.render_now()
    after = view.plotter.screenshot(None, return_img=True).astype(int)
    view._actors[MAP_OVERLAY].SetVisibility(False)
    view.render_now()
    plain = view.plotter.screenshot(None, return_img=True).astype(int)
    view._actors[MAP_OVERLAY].SetVisibility(True)
    skin = head_pixels(plain)
    changed = np.abs(after - plain).sum(axis=2) > 60
    assert skin.sum() > 5000
    assert (skin & changed).sum() > 0.25 * skin.sum(), "the map is not drawn on the head"
    assert panel.plots.topo_title
    # the spectrum shows the pass band only (the filter's stop band pulled the axis to 1e-9)
    lines = [ln for ln in panel.plots.spec_ax.get_lines() if len(ln.get_xdata()) > 2]
    assert lines and all(max(ln.get_xdata()) <= 45.0 and min(ln.get_xdata()) >= 1.0 for ln in lines)
    assert panel.plots.spec_ax.get_ylim()[0] > 1e-3

    # left stays left: with absolute alpha on the head, the scalp at F3 carries F3's value (more
    # alpha: the planted asymmetry) and the scalp at F4 carries F4's
    chooser = panel.measures_box.chooser
    with qtbot.waitSignal(panel.mapShown, timeout=10_000):
        chooser.setCurrentIndex(chooser.findData("abs:alpha"))
    scalp = np.asarray(window.head.scalp.points, float)
    at = {ch: panel.last_map[np.argmin(np.linalg.norm(scalp - panel.electrodes.positions_mm[ch], axis=1))]
          for ch in ("F3", "F4")}
    alpha = {ch: 1e12 * m.band_power_abs[ch]["alpha"] for ch in ("F3", "F4")}
    assert at["F3"] == pytest.approx(alpha["F3"], rel=0.05) and at["F4"] == pytest.approx(alpha["F4"], rel=0.05)
    assert at["F3"] > at["F4"] and panel.electrodes.positions_mm["F3"][0] < panel.electrodes.positions_mm["F4"][0]
    with qtbot.waitSignal(panel.mapShown, timeout=10_000):
        chooser.setCurrentIndex(chooser.findData("rel:alpha"))

    # the suggestion, its reasons and "the clinician confirms"
    box = panel.suggestion_box
    assert box.suggestions and box.suggestions[0].site == "F3"
    text = box.findChild(QtWidgets.QLabel, "qeeg_suggestion_text_0").text()
    assert "F3" in text and "FAA" in text
    assert DECISION_SUPPORT in box.findChild(QtWidgets.QLabel, "qeeg_decision_support").text()

    # Add as target: a left F3-area target with the cortex beneath it and the evidence, undoable
    with qtbot.waitSignal(panel.targetAdded, timeout=60_000):
        box.add_buttons[0].click()
    assert window.wait_for_job(30_000)
    t = window.state.targets.active
    assert t.source == "qeeg" and t.name.startswith("qEEG F3")
    fids = window.head.fiducials_mm
    mid_x = 0.5 * (np.asarray(fids["lpa"])[0] + np.asarray(fids["rpa"])[0])
    assert t.scalp_point_mm[0] < mid_x - 20.0, "F3 must be on the LEFT"
    assert t.scalp_point_mm[1] > np.asarray(fids["lpa"])[1], "F3 is anterior of the ears"
    assert t.cortex_point_mm is not None and 5.0 < t.depth_mm < 40.0
    assert "FAA" in t.evidence.why and "clinician confirms" in t.evidence.why
    assert t.evidence.citation
    f3 = panel.electrodes.positions_mm["F3"]
    assert np.linalg.norm(t.scalp_point_mm - f3) < 3.0
    keep_screenshot(window, "qeeg-scalp-map.png", tmp_path)
    window.planning_panel.undo_stack.undo()
    assert t.name not in window.state.targets

    # electrodes from a BIDS file (the cap as digitised): the map and the target follow them
    moved = {n: np.asarray(p, float).copy() for n, p in panel.electrodes.positions_mm.items()}
    scalp = np.asarray(window.head.scalp.points, float)
    ring = scalp[np.abs(np.linalg.norm(scalp - f3, axis=1) - 10.0) < 1.0]
    moved["F3"] = ring[np.argmax(ring[:, 1] - ring[:, 0])]     # 10 mm left-forward, on the scalp
    tsv, _ = write_bids_electrodes(tmp_path / "sub-01_space-Other", moved)
    panel_draws: list = []
    monkeypatch.setattr(scalp_view, "show_electrodes", lambda *a, **k: panel_draws.append(a))
    with qtbot.waitSignal(panel.mapShown, timeout=10_000):
        assert panel.digitise_box.load_bids(tsv)
    assert panel.electrodes.source == "digitised" and "BIDS" in panel.electrode_source.text()
    # the box draws its electrodes with their status colours (read from a file = captured,
    # green); the panel must not draw them over in template grey
    assert panel_draws == []
    with qtbot.waitSignal(panel.targetAdded, timeout=60_000):
        box.add_buttons[0].click()
    assert window.wait_for_job(30_000)
    t2 = window.state.targets.active
    assert np.linalg.norm(t2.scalp_point_mm - moved["F3"]) < 1.5
    assert np.linalg.norm(t2.scalp_point_mm - f3) > 8.0


def test_bad_eeg_file_gives_a_message_and_keeps_the_result(window, qtbot, cache, tmp_path):
    result = open_sample_eeg(window, qtbot)
    panel = window.qeeg_panel
    source = panel.path
    truncated = tmp_path / "cut.edf"
    data = source.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])          # a copy interrupted half-way
    panel.load_file(truncated)
    qtbot.waitUntil(lambda: window.job is None, timeout=60_000)
    assert window.last_error and window._error_box is not None and window._error_box.isVisible()
    assert "truncated" in window.last_error and "Unexpected problem" not in window.last_error
    assert panel.result is result and panel.path == source          # the previous result stays
    window._error_box.close()
    not_eeg = tmp_path / "notes.edf"
    not_eeg.write_text("this is not an EDF file\n")
    panel.load_file(not_eeg)
    qtbot.waitUntil(lambda: window.job is None, timeout=60_000)
    assert "not an EDF" in window.last_error or "too short" in window.last_error
    assert panel.result is result
    window._error_box.close()
    # too little clean data for the asked minimum: the cleaning's message, the result stays
    panel.path = source
    panel.load_box.min_clean.setValue(600.0)
    panel.load_box.reload_button.click()
    qtbot.waitUntil(lambda: window.job is None, timeout=60_000)
    assert "clean" in window.last_error and panel.result is result
    window._error_box.close()
    panel.load_box.min_clean.setValue(60.0)
    # the tab is still usable: the same file loads again
    with qtbot.waitSignal(panel.resultShown, timeout=120_000):
        panel.load_box.reload_button.click()
    assert panel.result is not result


def test_cancel_stops_the_job_and_the_tab_stays_usable(window, qtbot, cache, monkeypatch):
    written = threading.Event()
    go_on = threading.Event()
    real = panel_module.write_sample_eeg

    def slow_write(progress=None, cancel=None):
        path = real(progress, cancel)
        written.set()
        assert go_on.wait(60.0)
        return path

    monkeypatch.setattr(panel_module, "write_sample_eeg", slow_write)
    panel = window.qeeg_panel
    menu_action(window, "Open sample EEG").trigger()
    qtbot.waitUntil(written.is_set, timeout=60_000)
    # the window answers while the job works: a timer and a tab change go through
    ticked = []
    QtCore.QTimer.singleShot(0, lambda: ticked.append(True))
    qtbot.waitUntil(lambda: bool(ticked), timeout=10_000)
    window.panels.setCurrentWidget(window.planning_panel)
    assert window.job is not None and window.jobs.cancel_button.isVisible()
    window.cancel_job()
    go_on.set()                                  # the job goes on and meets the cancel
    qtbot.waitUntil(lambda: window.job is None, timeout=60_000)
    assert panel.result is None and window.last_error is None
    assert "cancelled" in window.statusBar().currentMessage()
    monkeypatch.setattr(panel_module, "write_sample_eeg", real)
    open_sample_eeg(window, qtbot)
    assert panel.result is not None


def test_add_as_target_without_a_brain_says_so(qtbot, planning_phantom, cache):
    w = open_planning_window(qtbot, planning_phantom, with_brain=False)
    try:
        w.panels.setCurrentWidget(w.qeeg_panel)
        open_sample_eeg(w, qtbot)
        panel = w.qeeg_panel
        assert panel.suggestion_box.add_buttons
        n = len(w.state.targets)
        panel.suggestion_box.add_buttons[0].click()
        assert "brain (cortex) surface" in w.last_error
        assert len(w.state.targets) == n and w.job is None
        # no fiducials on this head: the tab says why there is no map on it
        assert "No template electrode positions" in panel.electrode_source.text()
    finally:
        w.close()


def test_phantom_head_template_electrodes_map_and_left_f3(qtbot, planning_phantom, cache):
    """Another head than the sample: the phantom (no inion marked: estimated). The electrodes
    are placed on its scalp, the map is drawn and F3 lands on its left, above its cortex."""
    ph = planning_phantom[0]
    w = open_planning_window(qtbot, planning_phantom)
    try:
        w.panels.setCurrentWidget(w.qeeg_panel)
        open_sample_eeg(w, qtbot)
        panel = w.qeeg_panel
        assert panel.electrodes is not None and panel.electrodes.source == "template"
        assert "inion estimated" in panel.electrode_source.text()
        assert panel.last_map is not None and w.view3d.has_overlay(MAP_OVERLAY)
        f3, f4 = panel.electrodes.positions_mm["F3"], panel.electrodes.positions_mm["F4"]
        assert f3[0] < ph.nasion[0] - 20.0 < ph.nasion[0] + 20.0 < f4[0]
        with qtbot.waitSignal(panel.targetAdded, timeout=60_000):
            panel.suggestion_box.add_buttons[0].click()
        assert w.wait_for_job(30_000)
        t = w.state.targets.active
        assert t.source == "qeeg" and t.scalp_point_mm[0] < ph.nasion[0] - 20.0
        assert t.cortex_point_mm is not None and t.depth_mm > 3.0
    finally:
        w.close()


def test_eeg_first_then_the_head_places_the_electrodes_and_draws_the_map(window, qtbot, cache):
    """The EEG read before any MRI: measures only, and the tab says the head is missing; opening
    the head afterwards places the template electrodes on it and paints the map."""
    panel = window.qeeg_panel
    open_sample_eeg(window, qtbot)
    assert panel.electrodes is None and "Open the patient's MRI" in panel.electrode_source.text()
    assert panel.plots.topo_title and panel.last_map is None
    with qtbot.waitSignal(panel.mapShown, timeout=180_000):
        window.open_sample_head()
    qtbot.waitUntil(lambda: window.job is None, timeout=30_000)
    assert panel.electrodes is not None and panel.electrodes.head is window.head
    assert window.view3d.has_overlay(MAP_OVERLAY) and panel.last_map is not None
    assert window.last_error is None
