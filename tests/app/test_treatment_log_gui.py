"""The Treatment tab's pulse log in use: pulse sources (TTL adapter, footswitch key), the cues,
the Navigate tolerance, the chairside pulse counter, and a whole 300-pulse treatment on the
sample head through the built-in emulated MagPro (its screenshot is docs/images/treatment.png).
No wall-clock sleeps: every wait is for a condition.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets
from tmsnav.navigation.session.store import Session

from tests.app.treatment_helpers import (
    WAIT_MS,
    arm,
    click,
    connect_box,
    magpro_fixture,  # noqa: F401 - the magpro fixture
    navigate_on_phantom,
    phantom_head_fixture,  # noqa: F401 - the phantom_head fixture
    pulses,
    true_mri_from_hotspot,
    trust_simulated_tracker,
)

pytestmark = pytest.mark.gui


# ----- chairside -------------------------------------------------------------------------------------------------
def test_chairside_layout_shows_the_pulse_count_and_keeps_its_numbers_readable(window, qtbot):
    from tmsnav.app.chairside_view import MIN_DIGIT_PX

    from tests.app.chairside_fit_helpers import cut_texts
    from tests.app.test_chairside_layout import error, glyph_rows, resize

    view = window.chairside.view
    for size in ((1366, 768), (1024, 768)):
        resize(window, qtbot, *size)
        window.chairside.set_large(True)
        qtbot.waitUntil(view.isVisible, timeout=WAIT_MS)
        window.guidance_panel.guidanceChanged.emit(error(in_plane=8.8, anterior=-8.8, right=8.8, tilt_deg=8.8), "")
        view.set_pulses(2999, 87.4)
        QtCore.QCoreApplication.processEvents()
        assert view.pulse_label.isVisible() and view.pulse_label.text() == "Pulses 2999   On target 87 %"
        assert cut_texts(window) == [], size
        if size == (1366, 768):
            for key in ("in_plane", "tilt", "anterior", "right"):
                assert glyph_rows(view.values[key]) >= MIN_DIGIT_PX, key
            print("pulse line digits", glyph_rows(view.pulse_label), "px at", size)
    view.set_pulses(0, None)
    assert view.pulse_label.isHidden()


# ----- a whole treatment -----------------------------------------------------------------------------------------
def test_300_pulses_on_the_fox_target_through_the_built_in_magpro_emulator(window, qtbot, tmp_path):
    """The demo's plan on the bundled sample head, the simulated coil held on the Fox 2012 target,
    the built-in emulated MagPro chosen in the port list; a 300-pulse train at 20 Hz with the coil
    hidden from the tracker for a stretch. Every pulse is logged, those without a live coil pose
    as unknown; the summary's numbers are those re-read from the session's event log. With
    TMSNAV_SCREENSHOT_DIR set, docs/images/treatment.png is kept."""
    import os
    from pathlib import Path

    from tmsnav.app.demo import prepare_demo_plan
    from tmsnav.app.treatment.stimulator_box import EMULATOR_PORT
    from tmsnav.navigation.treatment.pulse_log import statistics_from_event_log

    from tests.app.test_chairside_layout import resize

    resize(window, qtbot, 1400, 900)
    session = Session.create(tmp_path / "session", "anon-002")
    window.state.set_session(session)
    with qtbot.waitSignal(window.headLoaded, timeout=120_000):
        window.open_sample_head()
    window.wait_for_job()
    prepare_demo_plan(window.state)
    window.connect_tracker_spec("sim:coil_approach?approach_s=0.5&place_s=0.5&hold_s=600")
    qtbot.waitUntil(lambda: window.tracking.tracker_ref is not None, timeout=WAIT_MS)
    trust_simulated_tracker(window, window.tracking.tracker_ref.truth)
    guidance = window.guidance_panel
    qtbot.waitUntil(lambda: guidance.last_error is not None and guidance.last_error.on_target(
        guidance.bullseye.tolerance), timeout=60_000)
    assert "Fox 2012" in window.state.targets.active.name

    box = connect_box(window, qtbot, EMULATOR_PORT)
    emulator = box.emulator
    assert emulator is not None
    box.power.setValue(60)
    click(qtbot, box.set_power_button)
    qtbot.waitUntil(lambda: "60 % MSO" in box.values["intensity"].text(), timeout=WAIT_MS)
    arm(qtbot, box)
    emulator.unit.train_pulses, emulator.unit.train_rate_hz = 300, 20.0
    assert emulator.start_train()
    qtbot.waitUntil(lambda: len(pulses(window)) >= 100, timeout=60_000)
    window.tracking.tracker_ref.forced_missing.add("coil")          # the coil leaves the camera's view
    qtbot.waitUntil(lambda: len(pulses(window)) >= 140, timeout=60_000)
    window.tracking.tracker_ref.forced_missing.discard("coil")
    qtbot.waitUntil(lambda: len(pulses(window)) == 300, timeout=60_000)
    click(qtbot, box.disarm_button)
    qtbot.waitUntil(lambda: not emulator.unit.enabled, timeout=WAIT_MS)

    logged = pulses(window)
    assert [p.index for p in logged] == list(range(1, 301))
    assert all(p.source == "magventure" and p.output_pct_mso == 60 for p in logged)
    unknown = [p for p in logged if not p.pose_known]
    hidden = [p for p in unknown if "coil" in p.pose_reason]
    assert 10 <= len(hidden) <= 60
    # on a loaded machine the tracker thread can be starved past the staleness limit: such a pulse
    # is honestly "pose unknown" because the last frame was too old, never paired with that frame
    assert all(p in hidden or "old" in p.pose_reason for p in unknown), [p.pose_reason for p in unknown]
    assert all(p.position_error_mm is not None for p in logged if p.pose_known)
    dialog = window.treatment_panel.show_summary()
    st = statistics_from_event_log(tmp_path / "session" / "events.jsonl")
    assert st.n == 300 and st.n_pose_unknown == len(unknown)
    assert dialog.values["Pulses delivered"].text() == "300"
    assert dialog.values["Pose unknown"].text() == str(len(unknown))
    assert dialog.values["Median error on the scalp"].text() == f"{st.median_error_mm:.1f} mm"
    assert dialog.values["95th percentile"].text() == f"{st.p95_error_mm:.1f} mm"
    assert st.median_error_mm < 3.0 and st.fraction_on_target is not None and st.fraction_on_target < 1.0
    view = window.treatment_panel.log_view
    qtbot.waitUntil(lambda: view.values["pulses"].text() == "300", timeout=WAIT_MS)
    out = Path(os.environ.get("TMSNAV_SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    window.panels.setCurrentWidget(window.treatment_panel)
    scroll = window.treatment_panel.parentWidget()
    while scroll is not None and not isinstance(scroll, QtWidgets.QScrollArea):
        scroll = scroll.parentWidget()
    if scroll is not None:                                            # the pulse plot in sight
        scroll.ensureWidgetVisible(view.plot)
    dialog.move(window.geometry().center() - dialog.rect().center())
    assert window.save_screenshot(out / "treatment.png")
    assert dialog.grab().save(str(out / "treatment-summary.png"), "PNG")
    dialog.close()


# ----- pulse sources ----------------------------------------------------------------------------------------------
def start_source(window, qtbot, kind: str, text: str):
    window.panels.setCurrentWidget(window.treatment_panel)
    box = window.treatment_panel.sources
    box.kind.setCurrentIndex(box.kind.findData(kind))
    box.detail.setText(text)
    n = len(box.sources)
    click(qtbot, box.start_button)
    return box, n


def test_ttl_adapter_and_footswitch_pulses_are_logged_with_the_live_pose(window, qtbot, phantom_head):
    import os
    import pty

    navigate_on_phantom(window, qtbot, *phantom_head)
    window.panels.setCurrentWidget(window.treatment_panel)
    master, slave = pty.openpty()
    try:
        box, n = start_source(window, qtbot, "ttl", os.ttyname(slave))
        qtbot.waitUntil(lambda: len(box.sources) == n + 1, timeout=WAIT_MS)
        assert os.ttyname(slave) in box.running.item(0).text()
        os.write(master, b"\x01")                              # the adapter's byte for one pulse
        qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
        box, n = start_source(window, qtbot, "key", "F8")
        qtbot.waitUntil(lambda: len(box.sources) == n + 1, timeout=WAIT_MS)
        qtbot.keyClick(window.panels, QtCore.Qt.Key.Key_F8)      # the footswitch sends F8
        qtbot.waitUntil(lambda: len(pulses(window)) == 2, timeout=WAIT_MS)
        assert [p.source for p in pulses(window)] == ["ttl-serial", "key"]
        for pulse in pulses(window):
            assert pulse.pose_known, pulse.pose_reason
            truth = true_mri_from_hotspot(window, pulse.host_time_ns)
            assert np.linalg.norm(pulse.mri_from_hotspot.translation - truth[:3, 3]) < 1.5
            assert pulse.output_pct_mso is None                  # a TTL edge or a key cannot know the output
        box.shutdown()
        assert not box.sources and box.key_filter is None
    finally:
        os.close(master)
        os.close(slave)


def test_a_mistyped_source_is_refused_with_the_reason_and_a_missing_port_does_not_start(window, qtbot):
    box, n = start_source(window, qtbot, "ttl", "/dev/ttyUSB0?bytes=0x01")
    assert "no option bytes" in box.message.text() and len(box.sources) == n
    box, n = start_source(window, qtbot, "ttl", "/dev/tmsnav-no-such-port")
    qtbot.waitUntil(lambda: "did not start" in box.message.text(), timeout=WAIT_MS)
    assert len(box.sources) == n


# ----- cues, tolerance, summary without a session -------------------------------------------------------------------
def test_cues_on_transitions_only_with_sound_off_still_flashing(window, qtbot):
    from tmsnav.navigation.guidance import GuidanceError

    cues = window.treatment_panel.cues
    tol = window.guidance_panel.bullseye.tolerance
    on = GuidanceError(0.5, 0.0, 0.2, 0.01, 0.0, 0.5, 0.0)
    off = GuidanceError(9.0, 0.0, 0.2, 0.01, 0.0, 9.0, 0.0)
    assert on.on_target(tol) and not off.on_target(tol)
    t = 10_000_000_000
    cues.guidance(off, "", now_ns=t)
    cues.guidance(on, "", now_ns=t + 1)
    assert cues.given == ["on_target"] and cues.flash.text() == "ON TARGET"
    cues.guidance(on, "", now_ns=t + 2)                        # staying on target: no new cue
    cues.guidance(off, "", now_ns=t + 3)
    cues.guidance(on, "", now_ns=t + 4)                        # chatter at the edge within 1 s: quiet
    assert cues.given == ["on_target"]
    cues.sound.setChecked(False)
    beeps = cues.beeps
    cues.guidance(None, "coil not tracked", now_ns=t + 5)
    assert cues.given == ["on_target", "lost"] and cues.beeps == beeps   # no sound, but the flash
    assert cues.flash.text() == "TRACKING LOST" and not cues.flash.isHidden()
    cues.guidance(None, "no target", now_ns=t + 3_000_000_000)  # no target is not a lost tracker
    assert cues.given == ["on_target", "lost"]


def test_the_navigate_tolerance_judges_the_pulses(window, qtbot, magpro, phantom_head):
    navigate_on_phantom(window, qtbot, *phantom_head)
    box = connect_box(window, qtbot, magpro.path)
    arm(qtbot, box)
    magpro.foot_pedal()
    qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
    first = pulses(window)[0]
    assert first.within_tolerance is True                    # the coil holds within 3 mm, 5 degrees
    window.guidance_panel.tol_mm.setValue(0.5)
    window.guidance_panel.tol_deg.setValue(1.0)
    assert window.treatment_panel.recorder.log.tolerance.distance_mm == 0.5
    while len(pulses(window)) < 4:
        n = len(pulses(window))
        magpro.foot_pedal()
        qtbot.waitUntil(lambda n=n: len(pulses(window)) == n + 1, timeout=WAIT_MS)
    tol = window.treatment_panel.recorder.log.tolerance
    for pulse in pulses(window)[1:]:
        expected = (pulse.position_error_mm <= 0.5 and abs(pulse.depth_error_mm) <= tol.depth_mm
                    and pulse.angle_error_rad <= np.deg2rad(1.0) and abs(pulse.twist_error_rad) <= tol.twist_rad)
        assert pulse.within_tolerance is bool(expected)
    dialog = window.treatment_panel.show_summary()            # no session open: shown, said not saved
    assert "not saved" in dialog.note.text() and not dialog.recorded
    assert dialog.values["Tolerance"].text() == "0.5 mm, 1°"
    dialog.close()
