"""The words for the tracker's state, in one place: the window banner, the short 3-D banner,
the status bar and the Tracker tab all say the same thing about the same snapshot.

Why one function: the old screens disagreed (a clipped 3-D banner, "reconnecting" in small grey
text, an old "no such port" error next to a running stream, a status bar still saying
"Connecting to ..." while tracking ran). Here each state has one description and an old error
is never shown once tracking runs again (it stays in the log, docs/safety.md).

Pure: no Qt, tested on hand-made snapshots.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .tracking_advice import tool_problem
from .tracking_bridge import TrackingSnapshot

__all__ = ["TrackingAlert", "tracking_alert", "OFF", "CONNECTING", "TRACKING", "LOST",
           "NOT_CONNECTED", "REFERENCE"]

# levels, from no tracker at all to a working one
OFF = "off"                  # no tracker chosen
CONNECTING = "connecting"    # first attempt, nothing has gone wrong yet
NOT_CONNECTED = "not_connected"  # the first connection fails (wrong port, cable, power)
LOST = "lost"                # it tracked, then the device went away: reconnecting
REFERENCE = "reference"      # the device tracks, but the head reference is not live (for 0.25 s)
TRACKING = "tracking"

#: Colours of the levels (text on white in the Tracker tab, the banner's background).
LEVEL_COLORS = {OFF: "#757575", CONNECTING: "#e65100", NOT_CONNECTED: "#b00020", LOST: "#b00020",
                REFERENCE: "#b00020", TRACKING: "#2e7d32"}


@dataclass(frozen=True)
class TrackingAlert:
    """One description of the tracker's state for every place that shows it.

    ``headline`` and ``detail`` fill the window banner (shown when ``banner`` is true);
    ``view_text`` is a few short lines for the 3-D view (it must fit a narrow view unclipped);
    ``status`` is the status-bar line (short: the cause is in the banner, a long one would be cut
    at 1024 pixels); ``state`` the large word(s) of the Tracker tab; ``error``
    the current error (empty while tracking).
    """

    level: str
    headline: str
    detail: str
    view_text: str
    status: str
    state: str
    error: str = ""

    @property
    def banner(self) -> bool:
        return self.level in (NOT_CONNECTED, LOST, REFERENCE)

    @property
    def color(self) -> str:
        return LEVEL_COLORS[self.level]


def _retry(state: str) -> str:
    """'reconnecting in 2.3 s' -> 'next try in 2.3 s'; 'connecting' -> 'trying again now'."""
    match = re.match(r"reconnecting in ([0-9.]+) s", state)
    if match:  # whole seconds, rounded up: "in 0 s" would read as "now" and then not happen
        return f"next try in {max(1, math.ceil(float(match.group(1))))} s"
    return "trying again now" if state.startswith("connecting") else "reconnecting"


def tracking_alert(snap: TrackingSnapshot | None, description: str = "") -> TrackingAlert:
    """Describe ``snap`` (None or not connected: no tracker). ``description`` names the
    connection ("NDI Polaris / Aurora / Vega on /dev/ttyUSB0") when the driver has not."""
    if snap is None or not snap.connected:
        return TrackingAlert(OFF, "", "", "", "Tracker: not connected", "NOT CONNECTED")
    where = snap.device or description or "the tracker"
    if snap.state == "tracking" and not snap.receiving:
        # connected, but no fresh frame: the first has not come yet, or the stream went silent
        if not snap.ever_tracked:
            return TrackingAlert(CONNECTING, "", "", "", f"Tracker: connecting to {where}…",
                                 "CONNECTING…")
        return TrackingAlert(
            LOST, "TRACKING LOST",
            f"{where} is connected but sends no poses: check its power and cable, or "
            "Disconnect and Connect again. Every position is hidden until poses arrive.",
            "TRACKING LOST\nno frames", "Tracker LOST: no frames arriving",
            "LOST: no frames arriving", snap.error)
    if snap.state != "tracking":
        if not snap.error and not snap.ever_tracked:
            return TrackingAlert(CONNECTING, "", "", "", f"Tracker: connecting to {where}…",
                                 "CONNECTING…")
        error = snap.error or (snap.state.removeprefix("disconnected: ")
                               if snap.state.startswith("disconnected: ") else "no reason reported")
        retry = _retry(snap.state)
        if snap.ever_tracked:
            return TrackingAlert(
                LOST, "TRACKING LOST",
                f"{where} stopped sending poses: {error}. Every position is hidden until tracking "
                f"returns; reconnecting automatically.",
                "TRACKING LOST\nreconnecting",
                f"Tracker LOST: reconnecting, {retry}",
                f"LOST: reconnecting, {retry}", error)
        return TrackingAlert(
            NOT_CONNECTED, "TRACKER NOT CONNECTED",
            f"Cannot connect to {where}: {error}. Check the cable, the power and the port or "
            f"model in the Tracker tab; retrying automatically.",
            "NO TRACKING\ntracker not\nconnected",
            f"Tracker not connected: {retry}",
            f"NOT CONNECTED: {retry}", error)
    reference = snap.roles.get("reference", "reference")
    if snap.reference_lost:
        view = snap.tools.get(reference)
        label = "head reference" if reference == "reference" else f"head reference ({reference})"
        advice = tool_problem(label, view, snap.technology)
        return TrackingAlert(
            REFERENCE, "HEAD REFERENCE NOT TRACKED",
            f"{advice} Positions in the head are hidden until it is tracked again.",
            "HEAD REFERENCE\nNOT TRACKED",
            "Tracker: tracking, head reference NOT tracked",
            "TRACKING: head reference not tracked")
    return TrackingAlert(TRACKING, "", "", "", f"Tracker: tracking ({where})", "TRACKING")
