"""The words for the tracker's state and the advice per device kind (no window needed).

Issue 12: a clipped "TRACKING INVALID: tracker reconnectin" banner, an old "no such port" error
shown after recovery, and optical advice ("faces the camera") for a Polhemus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from tmsnav.app.tracking_advice import (ELECTROMAGNETIC, OPTICAL, UNKNOWN, device_technology,
                                        tool_problem)
from tmsnav.app.tracking_bridge import ToolView, TrackingBridge, TrackingSnapshot
from tmsnav.app.tracking_status import (CONNECTING, LOST, NOT_CONNECTED, OFF, REFERENCE, TRACKING,
                                        tracking_alert)
from tmsnav.hardware.frames import ToolFrame, ToolStatus

GREEN = ToolView("reference", "green", "tracked", 60.0, 0.1, None)
MISSING = ToolView("reference", "red", "missing", 60.0, None, None)


def snap(state: str = "tracking", *, tools=None, error: str = "", ever: bool = True,
         device: str = "Polhemus Liberty", technology: str = ELECTROMAGNETIC,
         roles=None, receiving: bool | None = None) -> TrackingSnapshot:
    tools = {"reference": GREEN} if tools is None else tools
    lost = tools.get("reference") is not GREEN   # as the bridge says after 0.25 s not live
    return TrackingSnapshot(True, state, tools, None,
                            roles or {"reference": "reference"}, 0, device=device,
                            technology=technology, error=error, ever_tracked=ever,
                            receiving=state == "tracking" if receiving is None else receiving,
                            reference_lost=lost)


def test_each_state_has_one_description():
    assert tracking_alert(None).level == OFF
    off = tracking_alert(TrackingSnapshot(False, "disconnected", {}, None, {}, 0))
    assert (off.level, off.status, off.banner) == (OFF, "Tracker: not connected", False)
    first = tracking_alert(snap("connecting", ever=False, device=""), "NDI Polaris on /dev/ttyUSB0")
    assert first.level == CONNECTING and not first.banner
    assert first.status == "Tracker: connecting to NDI Polaris on /dev/ttyUSB0…"
    ok = tracking_alert(snap())
    assert (ok.level, ok.status, ok.banner, ok.error) == (
        TRACKING, "Tracker: tracking (Polhemus Liberty)", False, "")


def test_connected_without_frames_is_connecting_first_and_lost_after_tracking():
    """The acquisition says "tracking" before the first frame and through a silent stream: the
    status bar said "Connecting to ..." long after, or "tracking" with nothing arriving."""
    first = tracking_alert(snap("tracking", ever=False, receiving=False), "NDI on COM3")
    assert first.level == CONNECTING and first.status == "Tracker: connecting to Polhemus Liberty…"
    silent = tracking_alert(snap("tracking", receiving=False))
    assert silent.level == LOST and silent.banner and silent.headline == "TRACKING LOST"
    assert silent.detail.startswith("Polhemus Liberty is connected but sends no poses: ")
    assert silent.status == "Tracker LOST: no frames arriving"
    assert silent.view_text == "TRACKING LOST\nno frames"


def test_loss_after_tracking_is_lost_with_the_current_error_and_the_retry():
    alert = tracking_alert(snap("reconnecting in 1.6 s", error="cannot open /dev/ttyUSB0: no such port"))
    assert alert.level == LOST and alert.banner
    assert alert.headline == "TRACKING LOST"
    assert alert.detail == ("Polhemus Liberty stopped sending poses: cannot open /dev/ttyUSB0: no "
                            "such port. Every position is hidden until tracking returns; "
                            "reconnecting automatically.")
    assert alert.status == "Tracker LOST: reconnecting, next try in 2 s"
    assert alert.state == "LOST: reconnecting, next try in 2 s"
    assert alert.error == "cannot open /dev/ttyUSB0: no such port"


@pytest.mark.parametrize("state, retry", [("reconnecting in 0.4 s", "next try in 1 s"),
                                          ("reconnecting in 7.9 s", "next try in 8 s"),
                                          ("connecting", "trying again now")])
def test_the_retry_countdown_never_says_zero(state, retry):
    assert tracking_alert(snap(state, error="unplugged")).state == f"LOST: reconnecting, {retry}"


def test_a_first_connection_that_fails_is_not_connected_not_lost():
    alert = tracking_alert(snap("disconnected: cannot open COM7", ever=False, device="",
                                error="cannot open COM7"), "NDI Polaris / Aurora / Vega on COM7")
    assert alert.level == NOT_CONNECTED and alert.headline == "TRACKER NOT CONNECTED"
    assert alert.detail.startswith("Cannot connect to NDI Polaris / Aurora / Vega on COM7: "
                                   "cannot open COM7.")


def test_a_stop_without_a_recorded_error_still_says_why():
    alert = tracking_alert(snap("disconnected: device closed", error=""))
    assert alert.level == LOST and "device closed" in alert.detail
    later = tracking_alert(snap("reconnecting in 0.5 s", error=""))
    assert "stopped sending poses: no reason reported." in later.detail


@pytest.mark.parametrize("technology, needle, absent", [
    (ELECTROMAGNETIC, "field source", "camera"),
    (OPTICAL, "camera", "field source"),
])
def test_head_reference_loss_gives_advice_for_the_device(technology, needle, absent):
    alert = tracking_alert(snap(tools={"reference": MISSING}, technology=technology))
    assert alert.level == REFERENCE and alert.headline == "HEAD REFERENCE NOT TRACKED"
    assert needle in alert.detail and absent not in alert.detail
    assert alert.detail.endswith("Positions in the head are hidden until it is tracked again.")


def test_3d_lines_are_short_enough_for_a_narrow_view():
    """The 3-D banner is cut at both ends when a line is wider than the view (issue 12)."""
    alerts = [tracking_alert(snap("reconnecting in 3.0 s", error="x" * 80)),
              tracking_alert(snap("reconnecting in 3.0 s", error="x", ever=False)),
              tracking_alert(snap(tools={"reference": MISSING})),
              tracking_alert(snap(receiving=False))]
    for alert in alerts:
        assert alert.view_text and max(len(line) for line in alert.view_text.split("\n")) <= 16


# ----- advice per device kind -------------------------------------------------------------------
@pytest.mark.parametrize("tracker, technology", [
    (SimpleNamespace(kind="Polhemus Liberty"), ELECTROMAGNETIC),
    (SimpleNamespace(kind="Polhemus FASTRAK"), ELECTROMAGNETIC),
    (SimpleNamespace(kind="NDI Combined API", firmware_version="AURORA Rev 008"), ELECTROMAGNETIC),
    (SimpleNamespace(kind="NDI Combined API", firmware_version="POLARIS Vega 007"), OPTICAL),
    (SimpleNamespace(kind="NDI Combined API", device_model="aurora"), ELECTROMAGNETIC),
    (SimpleNamespace(kind="NDI Combined API", device_model="vega"), OPTICAL),
    (SimpleNamespace(kind="Replay of Polhemus Patriot"), ELECTROMAGNETIC),
    (SimpleNamespace(kind="Simulated tracker"), OPTICAL),
    (SimpleNamespace(kind="OpenIGTLink"), UNKNOWN),
    (SimpleNamespace(kind="OpenIGTLink", technology="electromagnetic"), ELECTROMAGNETIC),
    (None, UNKNOWN),
])
def test_device_technology(tracker, technology):
    assert device_technology(tracker) == technology


@pytest.mark.parametrize("view", [None, MISSING, ToolView("coil", "red", "out of volume", 0, None, None)])
def test_electromagnetic_advice_never_mentions_a_camera(view):
    text = tool_problem("coil", view, ELECTROMAGNETIC)
    assert text and "camera" not in text and "line of sight" not in text
    assert "sensor" in text


def test_optical_advice_is_about_the_camera_and_unknown_names_both():
    assert "markers face the camera" in tool_problem("pointer", None, OPTICAL)
    assert "line of sight" in tool_problem("pointer", MISSING, OPTICAL)
    both = tool_problem("pointer", MISSING, UNKNOWN)
    assert "line of sight" in both and "source" in both
    assert tool_problem("pointer", GREEN, ELECTROMAGNETIC) == ""


# ----- the bridge shows an error only while tracking is down -----------------------------------
@dataclass
class FakeStats:
    errors: int = 0
    last_error: str = ""
    frames_received: int = 0
    dropped: int = 0
    invalid: int = 0
    reconnects: int = 0
    rate_hz: dict = field(default_factory=dict)


class FakeAcquisition:
    """What TrackingBridge.tick reads, driven by the test."""

    def __init__(self) -> None:
        self.state = "connecting"
        self.stats = FakeStats()

    def fail(self, text: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = text

    missing = False

    def latest_all(self):
        status = ToolStatus.OK if self.state == "tracking" else ToolStatus.DISCONNECTED
        if self.missing:
            status = ToolStatus.MISSING
        return {"reference": ToolFrame("reference", np.eye(4), status)}

    fresh = True

    def is_fresh(self, frame, now_ns) -> bool:
        return self.fresh


def test_bridge_clears_the_old_error_on_recovery_and_shows_a_repeat_of_it(qtbot):
    from tmsnav.app.app_state import AppState

    bridge = TrackingBridge(AppState())
    acq = FakeAcquisition()
    bridge.acquisition = acq  # type: ignore[assignment]
    acq.fail("cannot open /dev/ttyUSB0: no such port")
    acq.state = "reconnecting in 0.5 s"
    first = bridge.tick()
    assert first.error == "cannot open /dev/ttyUSB0: no such port" and not first.ever_tracked
    acq.state = "tracking"
    up = bridge.tick()
    assert up.error == "" and up.ever_tracked and "no such port" not in up.stats_text
    acq.state = "reconnecting in 1.0 s"        # lost again, no new error recorded yet
    assert bridge.tick().error == ""
    acq.fail("cannot open /dev/ttyUSB0: no such port")   # the same text, a new failure
    assert bridge.tick().error == "cannot open /dev/ttyUSB0: no such port"
    acq.state = "disconnected: device closed"
    assert bridge.tick().error == "device closed"


def test_one_late_frame_is_not_silence_but_a_quarter_second_is(qtbot):
    """A single late frame (loaded machine, link near its limit) must not flash TRACKING LOST;
    the poses are hidden by their own staleness check meanwhile."""
    from tmsnav.app.app_state import AppState

    now = [0]
    bridge = TrackingBridge(AppState(), clock_ns=lambda: now[0])
    acq = FakeAcquisition()
    acq.state = "tracking"
    bridge.acquisition = acq  # type: ignore[assignment]
    assert bridge.tick().receiving
    acq.fresh = False
    now[0] = 100_000_000
    late = bridge.tick()
    assert late.tools["reference"].text == "stale" and not late.role_live("reference")
    assert late.receiving and not late.reference_lost and tracking_alert(late).level == TRACKING
    now[0] = 300_000_000
    silent = bridge.tick()
    assert not silent.receiving and tracking_alert(silent).level == LOST
    acq.fresh = True                      # frames again, the reference live
    now[0] = 400_000_000
    assert bridge.tick().role_live("reference")
    acq.missing = True                    # then hidden (MISSING in fresh frames)
    now[0] = 450_000_000
    first = bridge.tick()
    assert first.receiving and not first.role_live("reference") and not first.reference_lost
    now[0] = 750_000_000
    held = bridge.tick()
    assert held.reference_lost and tracking_alert(held).level == REFERENCE
