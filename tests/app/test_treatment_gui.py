"""The Treatment tab with an emulated MagVenture MagPro and Magstim on a pty, and the simulated tracker.

Safety first: nothing arms or fires without a click (the wire is read back from the emulated
unit); ARM then FIRE gives a pulse logged with the pose the simulated tracker's hidden truth
says the coil had at that instant; a stale pose is logged "pose unknown"; a foot-pedal pulse is
logged; a pulled cable shows the banner; STOP (and Esc) disarms; the counters, the plot and the
summary follow. No wall-clock sleeps: every wait is for a condition.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore
from tmsnav.hardware.stimulators.magstim import protocol as msp
from tmsnav.hardware.stimulators.magstim.emulator import MagstimEmulator
from tmsnav.hardware.stimulators.magventure import messages as mvm
from tmsnav.navigation.session.event_log import read_events
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
)

pytestmark = pytest.mark.gui


# ----- nothing arms or fires on its own ----------------------------------------------------------------
def test_connect_and_poll_never_enable_or_fire_the_magpro(window, qtbot, magpro):
    box = connect_box(window, qtbot, magpro.path)
    statuses = lambda: sum(1 for c in magpro.received if c.id == mvm.GET_STATUS)  # noqa: E731
    before = statuses()
    qtbot.waitUntil(lambda: statuses() >= before + 6, timeout=WAIT_MS)     # several polls went out
    click(qtbot, box.set_power_button)                   # setting the intensity is no arming either
    qtbot.waitUntil(lambda: "50 % MSO" in box.values["intensity"].text(), timeout=WAIT_MS)
    sent = {c.id for c in magpro.received}
    assert mvm.SET_ENABLED not in sent and mvm.FIRE not in sent and mvm.START_TRAIN not in sent
    assert not magpro.unit.enabled and magpro.unit.pulses == 0
    assert not box.stop_button.isVisible()
    assert box.values["state"].text() == "disarmed"


def test_connect_and_poll_never_arm_or_fire_the_magstim(window, qtbot):
    with MagstimEmulator("200", version=(8, 0, 0)) as emulator:
        emulator.serve_pty()
        box = connect_box(window, qtbot, emulator.path, "magstim-200")
        n = len(emulator.commands())
        qtbot.waitUntil(lambda: len(emulator.commands()) >= n + 10, timeout=WAIT_MS)   # polls + keep-alive
        bodies = emulator.commands()
        assert not any(b.startswith(msp.ARM) or b.startswith(msp.FIRE) for b in bodies)
        assert not emulator.unit.armed
        # the user's clicks do arm and fire: the pulse is logged with the unit-reported power
        arm(qtbot, box)
        click(qtbot, box.fire_button)
        qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
        pulse = pulses(window)[0]
        assert pulse.source == "magstim" and pulse.output_pct_mso == box.bridge.last.power_a_pct
        click(qtbot, box.stop_button)
        qtbot.waitUntil(lambda: not emulator.unit.armed and not box.stop_button.isVisible(), timeout=WAIT_MS)
        box.disconnect_unit()


# ----- pulses logged with the live pose ------------------------------------------------------------------------
def test_arm_fire_logs_the_pulse_with_the_true_coil_pose_and_the_pedal_pulse_too(window, qtbot, magpro,
                                                                                  phantom_head):
    navigate_on_phantom(window, qtbot, *phantom_head)
    box = connect_box(window, qtbot, magpro.path)
    box.power.setValue(62)
    click(qtbot, box.set_power_button)
    qtbot.waitUntil(lambda: "62 % MSO" in box.values["intensity"].text(), timeout=WAIT_MS)
    assert not pulses(window)
    arm(qtbot, box)
    assert box.stop_button.isVisible()                   # STOP in sight while armed
    click(qtbot, box.fire_button)
    qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
    magpro.foot_pedal()                                  # fired at the unit: logged as well
    qtbot.waitUntil(lambda: len(pulses(window)) == 2, timeout=WAIT_MS)
    for pulse in pulses(window):
        assert pulse.source == "magventure" and pulse.output_pct_mso == 62
        assert pulse.didt_a_per_us is not None and pulse.didt_a_per_us > 0
        assert pulse.pose_known, pulse.pose_reason
        truth = true_mri_from_hotspot(window, pulse.host_time_ns)
        error_mm = np.linalg.norm(pulse.mri_from_hotspot.translation - truth[:3, 3])
        assert error_mm < 1.5, f"logged pose {error_mm:.2f} mm from the true pose at the pulse"
        assert pulse.target_name == "L-DLPFC test" and pulse.position_error_mm is not None
    # the counters and the plot follow; the session summary has the statistics
    view = window.treatment_panel.log_view
    qtbot.waitUntil(lambda: view.values["pulses"].text() == "2", timeout=WAIT_MS)
    assert view.plot.n == 2 and view.values["unknown"].text() == "0"
    assert view.values["median"].text().endswith("mm")


def test_a_stale_pose_at_the_pulse_is_logged_pose_unknown(window, qtbot, magpro, phantom_head):
    navigate_on_phantom(window, qtbot, *phantom_head)
    box = connect_box(window, qtbot, magpro.path)
    recorder = window.treatment_panel.recorder
    window.tracking.stop()                               # the last pose stays in the history, ageing
    last = recorder.history.latest_time_ns()
    assert last is not None
    qtbot.waitUntil(lambda: time.monotonic_ns() - last > 200_000_000, timeout=WAIT_MS)
    arm(qtbot, box)
    click(qtbot, box.fire_button)
    qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
    pulse = pulses(window)[0]
    assert not pulse.pose_known and pulse.mri_from_hotspot is None
    assert "old" in pulse.pose_reason and pulse.within_tolerance is None
    view = window.treatment_panel.log_view
    qtbot.waitUntil(lambda: view.values["unknown"].text() == "1", timeout=WAIT_MS)
    assert "pose unknown" in view.last_pulse.text()


def test_untracked_coil_at_the_pulse_is_pose_unknown_with_the_reason(window, qtbot, magpro, phantom_head):
    navigate_on_phantom(window, qtbot, *phantom_head)
    box = connect_box(window, qtbot, magpro.path)
    window.tracking.tracker_ref.forced_missing.add("coil")
    qtbot.waitUntil(lambda: window.guidance_panel.last_error is None, timeout=WAIT_MS)
    arm(qtbot, box)
    magpro.foot_pedal()
    qtbot.waitUntil(lambda: len(pulses(window)) == 1, timeout=WAIT_MS)
    pulse = pulses(window)[0]
    assert not pulse.pose_known and "coil" in pulse.pose_reason


# ----- link loss and STOP ----------------------------------------------------------------------------------------
def test_pulled_cable_shows_the_banner_and_blocks_arm_and_fire(window, qtbot, magpro):
    box = connect_box(window, qtbot, magpro.path)
    height = window.height()
    arm(qtbot, box)
    magpro.stop()                                        # the cable is pulled
    qtbot.waitUntil(lambda: box.banner.isVisible(), timeout=WAIT_MS)
    assert "LINK LOST" in box.banner.text()
    window.panels.setCurrentWidget(window.guidance_panel)      # the cause is in sight from any tab
    assert box.stop_bar.isVisible() and "LINK LOST" in box.stop_bar.label.text()
    QtCore.QCoreApplication.processEvents()
    assert box.stop_bar.height() < 150 and window.height() == height   # the strip fits its text only
    assert not box.fire_button.isEnabled() and not box.arm_button.isEnabled()
    assert box.values["state"].text() == "not connected"


def test_silent_unit_is_told_to_disable_and_the_banner_says_why(window, qtbot):
    with MagstimEmulator("200", version=(8, 0, 0)) as emulator:
        emulator.serve_pty()
        box = connect_box(window, qtbot, emulator.path, "magstim-200")
        arm(qtbot, box)
        emulator.stall()
        qtbot.waitUntil(lambda: box.banner.isVisible(), timeout=WAIT_MS)
        emulator.resume()
        qtbot.waitUntil(lambda: not emulator.unit.armed, timeout=WAIT_MS)   # the disarm was heard
        assert not box.fire_button.isEnabled()
        box.disconnect_unit()


def test_stop_button_and_esc_disarm(window, qtbot, magpro):
    box = connect_box(window, qtbot, magpro.path)
    arm(qtbot, box)
    assert magpro.unit.enabled
    click(qtbot, box.stop_button)
    qtbot.waitUntil(lambda: not magpro.unit.enabled and not box.stop_button.isVisible(), timeout=WAIT_MS)
    arm(qtbot, box)
    # on the Navigate tab in the large chairside layout the tab's STOP is out of sight: the strip's is not
    window.panels.setCurrentWidget(window.guidance_panel)
    window.chairside.set_large(True)
    assert not box.stop_button.isVisible()
    qtbot.waitUntil(box.stop_bar.button.isVisible, timeout=WAIT_MS)
    click(qtbot, box.stop_bar.button)
    qtbot.waitUntil(lambda: not magpro.unit.enabled and not box.stop_bar.isVisible(), timeout=WAIT_MS)
    window.chairside.set_large(False)
    window.panels.setCurrentWidget(window.treatment_panel)
    arm(qtbot, box)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)      # shortcuts need the active window
    qtbot.keyClick(window.panels, QtCore.Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not magpro.unit.enabled and not box.bridge.armed, timeout=WAIT_MS)


def test_clicks_answer_at_once_while_a_train_arrives(window, qtbot, magpro):
    box = connect_box(window, qtbot, magpro.path)
    arm(qtbot, box)
    magpro.start_train()
    qtbot.waitUntil(lambda: len(pulses(window)) >= 3, timeout=WAIT_MS)
    durations = []
    for button in (box.set_power_button, box.stop_button):
        start = time.perf_counter()
        click(qtbot, button)
        durations.append(time.perf_counter() - start)
    assert max(durations) < 0.1, durations             # the click never waits for the unit
    qtbot.waitUntil(lambda: not magpro.unit.enabled, timeout=WAIT_MS)


# ----- summary -------------------------------------------------------------------------------------------------
def test_summary_shows_the_statistics_and_is_recorded_in_the_session(window, qtbot, magpro, phantom_head,
                                                                     tmp_path):
    assert not window.treatment_panel.session_note.isHidden()     # pulses would not be saved: said
    session = Session.create(tmp_path / "session", "anon-001")
    window.state.set_session(session)
    assert window.treatment_panel.session_note.isHidden()
    navigate_on_phantom(window, qtbot, *phantom_head)
    box = connect_box(window, qtbot, magpro.path)
    arm(qtbot, box)
    for n in range(1, 4):
        magpro.foot_pedal()
        qtbot.waitUntil(lambda n=n: len(pulses(window)) == n, timeout=WAIT_MS)
    dialog = window.treatment_panel.show_summary()
    assert dialog.isVisible() and dialog.values["Pulses delivered"].text() == "3"
    st = window.treatment_panel.recorder.log.statistics()
    assert dialog.values["Median error on the scalp"].text() == f"{st.median_error_mm:.1f} mm"
    assert dialog.recorded
    events = read_events(tmp_path / "session" / "events.jsonl").events
    kinds = [e.kind for e in events]
    assert kinds.count("pulse") == 3 and "treatment_summary" in kinds
    summary = next(e for e in events if e.kind == "treatment_summary")
    assert summary.data["n"] == 3
    dialog.close()


def test_a_port_that_does_not_exist_is_a_message_not_a_traceback(window, qtbot):
    window.panels.setCurrentWidget(window.treatment_panel)
    box = window.treatment_panel.stimulator
    box.port.setCurrentText("/dev/tmsnav-no-such-stimulator")
    click(qtbot, box.connect_button)
    qtbot.waitUntil(lambda: "Connect failed" in box.message.text(), timeout=WAIT_MS)
    assert "/dev/tmsnav-no-such-stimulator" in box.message.text()
    assert box.bridge.driver is None and box.connect_button.text() == "Connect"
    assert not box.arm_button.isEnabled() and not box.fire_button.isEnabled()


def test_a_rapid_needs_its_unlock_code_typed_in_the_box(window, qtbot):
    window.panels.setCurrentWidget(window.treatment_panel)
    box = window.treatment_panel.stimulator
    assert box.unlock.isHidden()                                 # asked only for a Rapid²
    box.model.setCurrentIndex(box.model.findData("magstim-rapid"))
    assert not box.unlock.isHidden()
    with MagstimEmulator("rapid", version=(9, 0, 0), unlock_code="7a1c55e0") as emulator:
        emulator.serve_pty()
        box.port.setCurrentText(emulator.path)
        click(qtbot, box.connect_button)
        qtbot.waitUntil(lambda: "Connect failed" in box.message.text(), timeout=WAIT_MS)
        assert "unlock code" in box.message.text() and box.bridge.driver is None
        box.unlock.setText("7a1c55e0")
        connect_box(window, qtbot, emulator.path, "magstim-rapid")
        assert box.values["remote"].text() == "yes" and not emulator.unit.armed
        box.disconnect_unit()
