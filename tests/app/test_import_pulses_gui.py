"""File > Import pulses… on the sample head: Brainsight and Localite files written by tmsnav's own
exporters and the hand-written vendor samples are drawn as their own overlay with the right count,
on the LEFT when the pulses are on the left, and read off the GUI thread; a file in another space
or of another head is warned and can be cancelled; wrong files get a message, never a traceback;
Clear and a new image remove the pulses; nothing enters the session.

With TMSNAV_SCREENSHOT_DIR set the window is kept as imported-pulses.png (docs/exchange.md)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PySide6 import QtWidgets

from tmsnav.app.records.pulse_import import COLOUR, LEGEND, MAX_DRAWN, OVERLAY
from tmsnav.app.records.pulse_overlay import rgb
from tmsnav.navigation.exchange.brainsight import write_brainsight
from tmsnav.navigation.exchange.localite import write_trigger_markers
from tmsnav.navigation.session.event_log import read_events
from tmsnav.navigation.targeting.targets import TargetSet
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog
from tests.app.planning_helpers import open_planned_sample_head
from tests.app.test_previous_pulses_view_gui import _colour_near

pytestmark = pytest.mark.gui

SAMPLES = Path(__file__).parents[1] / "navigation" / "exchange" / "samples"
OFFSET_MM = (-7.0, 3.0)              # the cluster's centre from the target, in its tangent plane


@pytest.fixture
def head(qtbot, window, tmp_path):
    session = open_planned_sample_head(qtbot, window, tmp_path / "session")
    assert window.state.targets.active.scalp_point_mm[0] < 0          # Fox 2012: LEFT DLPFC
    yield window, window.exchange.pulse_import, session
    for box in window.findChildren(QtWidgets.QMessageBox):
        box.close()


def _pulses(window, n: int = 40, untracked: int = 4, lift_mm: float = 1.0, shift=(0.0, 0.0, 0.0),
            offset=OFFSET_MM):
    """``n`` pulses in a 0.8 mm cluster ``offset`` from the active target, on the skin (nearest
    scalp point) lifted ``lift_mm`` outwards, the coil as the target's; ``untracked`` without a
    pose. Returns (targets, pulses, cluster centre)."""
    target = window.state.targets.active
    scalp = window.state.head.scalp
    m = target.mri_from_target.matrix
    u, v, out = m[:3, 0], m[:3, 1], -m[:3, 2]
    rng = np.random.default_rng(3)
    planar = (target.scalp_point_mm + (offset[0] + rng.normal(0, 0.8, (n, 1))) * u
              + (offset[1] + rng.normal(0, 0.8, (n, 1))) * v)
    _cells, on_skin = scalp.find_closest_cell(planar, return_closest_point=True)
    points = on_skin + lift_mm * out + np.asarray(shift)
    log = PulseLog()
    for i, p in enumerate(points):
        pose = m.copy()
        pose[:3, 3] = p
        log.record(i, "ttl", target=target, output_pct_mso=60.0,
                   mri_from_hotspot=None if i < untracked else Transform(Frame.MRI, Frame.HOTSPOT, pose),
                   pose_reason="coil not tracked", wall_time=f"2026-12-05T09:{i // 60 % 60:02d}:{i % 60:02d}.000+00:00")
    return TargetSet([target]), log.pulses, points.mean(axis=0)


def _import(qtbot, window, imp, path) -> None:
    before = window.exchange.last_message
    job = imp.import_pulses(path)
    assert job is not None and window.job is job                   # read on the job runner
    assert window.wait_for_job()
    qtbot.waitUntil(lambda: window.exchange.last_message != before or imp.n_points, timeout=30_000)


def _drawn_points(window) -> np.ndarray:
    """The points of the overlay's actor as the renderer has them (its mapper's dataset)."""
    return np.asarray(window.view3d._actors[OVERLAY].mapper.dataset.points)


def test_menu_entries_and_no_mri(window, qtbot):
    texts = [a.text() for a in window.file_menu.actions()]
    assert texts.count("Import p&ulses…") == 1 and texts.count("Clear imported pulses") == 1
    assert (texts.index("&Import targets…") < texts.index("Import p&ulses…")
            < texts.index("Clear imported pulses") < texts.index("E&xport targets…"))
    imp = window.exchange.pulse_import
    assert not imp.clear_action.isEnabled()
    assert imp.import_pulses(SAMPLES / "localite_trigger_two_pulses.xml") is None
    assert "Open the patient's MRI first" in window.exchange.last_message
    assert window.exchange.last_box.icon() == QtWidgets.QMessageBox.Icon.Critical
    window.exchange.last_box.close()


@pytest.mark.safety(hazard="left-right",
                    control="imported pulses on the left hemisphere are drawn on the left of the sample head")
def test_brainsight_pulses_on_the_left_are_drawn_there_off_the_gui_thread(head, qtbot, tmp_path):
    window, imp, session = head
    targets, pulses, centre = _pulses(window)
    path = write_brainsight(tmp_path / "other_room.txt", targets, pulses)
    job = imp.import_pulses(path)
    assert job is not None and window.job is job and imp.n_points == 0   # not drawn before the read
    assert window.wait_for_job()
    qtbot.waitUntil(lambda: imp.n_points == 36, timeout=30_000)
    drawn = _drawn_points(window)
    assert len(drawn) == 36 and (drawn[:, 0] < -10).all(), "left-hemisphere pulses not on the left"
    expected = [p.mri_from_hotspot.matrix[:3, 3] for p in pulses if p.mri_from_hotspot is not None]
    np.testing.assert_allclose(drawn, expected, atol=1e-4)                # mm stays mm, no shift
    target = window.state.targets.active
    median = float(np.median(np.linalg.norm(np.asarray(expected) - target.scalp_point_mm, axis=1)))
    assert abs(median - np.hypot(*OFFSET_MM)) < 1.0
    assert imp.legend_text() == (f"Imported: 36 pulses from Brainsight (other_room.txt), median "
                                 f"{median:.1f} mm from {target.name}")
    message = window.exchange.last_message
    assert "36 of 40 pulses have a coil position; 4 without one" in message
    assert "Display only" in message and "NIfTI:Scanner" in message
    assert window.exchange.last_box.icon() == QtWidgets.QMessageBox.Icon.Information
    assert window.view3d.has_overlay(LEGEND) and imp.clear_action.isEnabled()
    # drawn where they are: seen from the left, the cluster's centre has the overlay's colour
    view = window.view3d
    out = -target.mri_from_target.matrix[:3, 2]
    view.plotter.camera_position = [tuple(centre + 150 * out), tuple(centre), (0, 0, 1)]
    view.render_now()
    img = np.asarray(view.plotter.screenshot(None, return_img=True))
    assert _colour_near(img, *view.world_to_display(centre), rgb(COLOUR))
    imp.clear()                                             # and it is the overlay that drew it
    view.render_now()
    img = np.asarray(view.plotter.screenshot(None, return_img=True))
    assert not _colour_near(img, *view.world_to_display(centre), rgb(COLOUR), tol=40)
    # display only: the session's record holds no pulse
    assert not [e for e in read_events(session.events.path).events if e.kind == "pulse"]


def test_localite_file_and_the_hand_written_samples(head, qtbot, tmp_path):
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=12, untracked=2)
    _import(qtbot, window, imp, write_trigger_markers(tmp_path / "TriggerMarkers_Coil1.xml", pulses))
    assert imp.n_points == 10 and imp.legend_text().startswith(
        "Imported: 10 pulses from Localite (TriggerMarkers_Coil1.xml), median")
    assert (_drawn_points(window)[:, 0] < 0).all()
    # hand-written Localite sample: one tracked pulse over the left M1, one untracked
    _import(qtbot, window, imp, SAMPLES / "localite_trigger_two_pulses.xml")
    assert imp.n_points == 1
    np.testing.assert_allclose(_drawn_points(window), [[-45.0, -12.0, 78.0]], atol=1e-4)
    # hand-written Brainsight sample: labelled NIfTI:Aligned, the sample head's sform is Scanner
    _import(qtbot, window, imp, SAMPLES / "brainsight_left_m1_crlf_bom.txt")
    box = imp.confirm_box
    assert box is not None and box.isVisible()
    assert "NIfTI:Aligned" in box.text() and "NIfTI:Scanner" in box.text()
    assert imp.n_points == 1                                 # the previous file's, until answered
    imp.show_anyway.click()
    qtbot.waitUntil(lambda: imp.n_points == 2, timeout=10_000)
    np.testing.assert_allclose(_drawn_points(window), [[-45.0, -12.0, 78.0], [-44.0, -12.0, 78.0]],
                               atol=1e-4)
    assert "Shown although" in window.exchange.last_message
    assert window.exchange.last_box.icon() == QtWidgets.QMessageBox.Icon.Warning


def test_another_space_or_another_head_is_warned_and_can_be_cancelled(head, qtbot, tmp_path):
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=10, untracked=0)
    aligned = write_brainsight(tmp_path / "aligned.txt", targets, pulses,
                               coordinate_system="NIfTI:Aligned")
    _import(qtbot, window, imp, aligned)
    assert imp.confirm_box is not None and "this T1's sform is NIfTI:Scanner" in imp.confirm_box.text()
    cancel = [b for b in imp.confirm_box.buttons() if b is not imp.show_anyway]
    assert len(cancel) == 1
    cancel[0].click()
    qtbot.waitUntil(lambda: "cancelled" in window.exchange.last_message, timeout=10_000)
    assert imp.n_points == 0 and not window.view3d.has_overlay(OVERLAY)
    # another head's coordinates (45 mm up): on no label, only the scalp check can tell
    _, far, _ = _pulses(window, n=10, untracked=0, shift=(0.0, 0.0, 45.0))
    _import(qtbot, window, imp, write_trigger_markers(tmp_path / "far.xml", far))
    text = imp.confirm_box.text()
    assert "far.xml lie a median" in text and "another patient or another image" in text
    imp.show_anyway.click()
    qtbot.waitUntil(lambda: imp.n_points == 10, timeout=10_000)


@pytest.mark.parametrize("make,expected", [
    (lambda d, t: write_brainsight(d / "plan.txt", t), "targets but no samples"),
    (lambda d, t: SAMPLES / "localite_instrument_left_m1.xml", "holds targets, not recorded pulses"),
    (lambda d, t: (scipy.io.savemat(d / "c.mat", {"matsimnibs": np.eye(4)}), d / "c.mat")[1],
     "planned coil positions"),
    (lambda d, t: (d / "p.csv").write_text("x,y,z\n1,2,3\n") and d / "p.csv", "comma-separated"),
    (lambda d, t: (d / "T1.nii.gz").write_bytes(b"\x1f\x8b\x08\x00") and d / "T1.nii.gz", "gzip"),
])
def test_wrong_files_get_a_message_and_nothing_is_drawn(head, qtbot, tmp_path, make, expected):
    window, imp, _ = head
    path = make(tmp_path, TargetSet([window.state.targets.active]))
    _import(qtbot, window, imp, path)
    message = window.exchange.last_message
    assert expected in message and "Traceback" not in message
    assert window.exchange.last_box.icon() == QtWidgets.QMessageBox.Icon.Critical
    assert imp.n_points == 0 and not window.view3d.has_overlay(OVERLAY)


def test_all_untracked_and_other_units_are_refused(head, qtbot, tmp_path):
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=5, untracked=5)
    _import(qtbot, window, imp, write_brainsight(tmp_path / "lost.txt", targets, pulses))
    assert "none of the 5 pulses in lost.txt has a known coil position" in window.exchange.last_message
    targets, pulses, _ = _pulses(window, n=5, untracked=0)
    text = write_brainsight(tmp_path / "mm.txt", targets, pulses).read_text()
    (tmp_path / "m.txt").write_text(text.replace("# Units: millimetres", "# Units: metres"))
    _import(qtbot, window, imp, tmp_path / "m.txt")
    assert "millimetres and degrees only" in window.exchange.last_message
    assert imp.n_points == 0


def test_clear_new_image_and_active_target(head, qtbot, tmp_path):
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=20, untracked=0)
    path = write_brainsight(tmp_path / "bs.txt", targets, pulses)
    _import(qtbot, window, imp, path)
    assert imp.n_points == 20
    fox = window.state.targets.active.name
    other = next(n for n in window.state.targets.names if n != fox)
    window.state.targets.select(other)
    window.state.targets_edited("select")
    assert imp.legend_text().endswith(f"mm from {other}")
    d_other = float(imp.summary.median_mm)
    m1 = window.state.targets[other].scalp_point_mm
    assert d_other == pytest.approx(float(np.median(np.linalg.norm(imp.summary.positions - m1, axis=1))))
    assert d_other > 20.0                                   # the M1 target is far from the DLPFC
    imp.clear_action.trigger()
    assert imp.n_points == 0 and not window.view3d.has_overlay(OVERLAY)
    assert not window.view3d.has_overlay(LEGEND) and not imp.clear_action.isEnabled()
    _import(qtbot, window, imp, path)
    assert imp.n_points == 20
    with qtbot.waitSignal(window.headLoaded, timeout=180_000):
        window.open_sample_head()                           # a new image: they belong to the old
    window.wait_for_job()
    assert imp.n_points == 0 and not window.view3d.has_overlay(OVERLAY)


def test_an_image_changed_while_the_file_is_read_gets_nothing_drawn(head, qtbot, tmp_path):
    """The pulses are checked against, and belong to, the head open when the import started."""
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=10, untracked=0)
    path = write_brainsight(tmp_path / "bs.txt", targets, pulses)
    old = window.state.head
    job = imp.import_pulses(path)
    assert job is not None
    window.state.set_head(dataclasses.replace(old))          # another head object arrives meanwhile
    assert window.wait_for_job()
    qtbot.waitUntil(lambda: "Another image was opened" in window.exchange.last_message,
                    timeout=30_000)
    assert imp.n_points == 0 and not window.view3d.has_overlay(OVERLAY)


def test_a_5000_pulse_file_is_read_on_the_job_runner_and_subsampled(head, qtbot, tmp_path):
    window, imp, _ = head
    targets, pulses, _ = _pulses(window, n=5000, untracked=0)
    path = write_brainsight(tmp_path / "big.txt", targets, pulses)
    _import(qtbot, window, imp, path)
    qtbot.waitUntil(lambda: imp.n_points == MAX_DRAWN, timeout=60_000)
    assert imp.summary.n_with_pose == 5000
    assert imp.legend_text().startswith("Imported: 5000 pulses from Brainsight (big.txt)")


def test_screenshot_with_previous_sessions(head, qtbot, tmp_path):
    """Both overlays at once: the course's previous sessions (round, per session) and the
    imported pulses (square, magenta); kept as docs/images/imported-pulses.png when asked."""
    window, imp, _ = head
    target = window.state.targets.active
    scalp = window.state.head.scalp
    m = target.mri_from_target.matrix
    rng = np.random.default_rng(5)
    previous = {}
    for k, (a, b) in {1: (10.0, -6.0), 2: (5.0, 11.0)}.items():
        planar = target.scalp_point_mm + (a + rng.normal(0, 0.7, (60, 1))) * m[:3, 0] + (
            b + rng.normal(0, 0.7, (60, 1))) * m[:3, 1]
        previous[k] = scalp.find_closest_cell(planar, return_closest_point=True)[1] - 1.0 * m[:3, 2]
    window.panels.setCurrentWidget(window.guidance_panel)
    window.records.previous_pulses._set(previous)
    targets, pulses, centre = _pulses(window, n=300, untracked=12, offset=(-13.0, -5.0))
    _import(qtbot, window, imp, write_brainsight(tmp_path / "room_b_brainsight.txt", targets, pulses))
    for box in window.findChildren(QtWidgets.QMessageBox):
        box.close()
    assert imp.n_points == 288 and window.records.previous_pulses.n_points == 120
    view = window.view3d
    out = -m[:3, 2]
    view.plotter.camera_position = [tuple(target.scalp_point_mm + 150 * out),
                                    tuple(target.scalp_point_mm), (0, 0, 1)]
    view.render_now()
    shots = os.environ.get("TMSNAV_SCREENSHOT_DIR")
    if shots:
        assert window.save_screenshot(Path(shots) / "imported-pulses.png")
