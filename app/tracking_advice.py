"""What to tell the user when a tool is not tracked, in terms that fit the kind of tracker.

An optical camera (NDI Polaris/Vega) loses a tool when its markers are hidden or turned away, or
when the tool leaves the camera's measurement volume (NDI Polaris Vega user guide, "measurement
volume" and "line of sight"). An electromagnetic tracker (Polhemus FASTRAK/Liberty/Patriot, NDI
Aurora) sees through people and plastic but loses a sensor that is too far from the field source,
is distorted by metal and electrical equipment nearby, and depends on the sensor cable being
plugged into the right station (the Polhemus FASTRAK and Liberty user manuals warn about metal
near the source and sensors and about the source's range). Telling a Polhemus user to "face the
camera" sends them looking for a camera that does not exist, so every sentence here is chosen by
the device's technology.

Pure functions: no Qt, so the wording is tested without a window.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["OPTICAL", "ELECTROMAGNETIC", "UNKNOWN", "device_technology", "tool_problem",
           "technology_label"]

OPTICAL = "optical"
ELECTROMAGNETIC = "electromagnetic"
UNKNOWN = ""


class _View(Protocol):
    """The part of :class:`tmsnav.app.tracking_bridge.ToolView` the advice reads."""

    @property
    def light(self) -> str: ...

    @property
    def text(self) -> str: ...


def device_technology(tracker: Any) -> str:
    """``OPTICAL``, ``ELECTROMAGNETIC`` or ``UNKNOWN`` for a connected driver object.

    A driver may say so itself (a ``technology`` attribute); otherwise it is read from the driver's
    ``kind`` (every Polhemus is electromagnetic) and, for NDI, from the model the driver read from
    the ``VER`` reply (``device_model`` "aurora", or ``firmware_version`` naming AURORA; a Polaris
    or Vega does not). A replay keeps
    the recorded device's kind in its own ("Replay of Polhemus Liberty"). OpenIGTLink passes poses
    from an unknown device: ``UNKNOWN``, and the advice then names both kinds of cause.
    """
    if tracker is None:
        return UNKNOWN
    declared = str(getattr(tracker, "technology", "") or "").lower()
    if declared in (OPTICAL, ELECTROMAGNETIC):
        return declared
    kind = str(getattr(tracker, "kind", "") or "").lower()
    version = str(getattr(tracker, "firmware_version", "") or "").lower()
    model = str(getattr(tracker, "device_model", "") or "").lower()
    if "polhemus" in kind or "fastrak" in kind or "liberty" in kind or "patriot" in kind \
            or "aurora" in kind or "aurora" in version or model == "aurora":
        return ELECTROMAGNETIC
    if "ndi" in kind or "polaris" in kind or "vega" in kind or "simulated" in kind:
        return OPTICAL  # the simulated tracker behaves like a camera (line of sight, volume)
    return UNKNOWN


def technology_label(technology: str) -> str:
    return {OPTICAL: "optical camera", ELECTROMAGNETIC: "electromagnetic"}.get(technology, "")


def _not_seen(label: str, technology: str) -> str:
    if technology == ELECTROMAGNETIC:
        return (f"The {label} has not been seen yet: check that its sensor cable is plugged into "
                "the station chosen for it (Tracker tab, 'Which tool is which').")
    if technology == OPTICAL:
        return (f"The {label} has not been seen yet: check that its tool definition is loaded "
                "and that its markers face the camera.")
    return (f"The {label} has not been seen yet: check that the tracker knows this tool and "
            "which tool is which in the Tracker tab.")


def _out_of_volume(label: str, status: str, technology: str) -> str:
    if technology == ELECTROMAGNETIC:
        return (f"The {label} is {status}: bring its sensor closer to the field source "
                "(transmitter or field generator).")
    if technology == OPTICAL:
        return f"The {label} is {status}: move it toward the middle of the camera's view."
    return f"The {label} is {status}: move it back into the tracker's working volume."


def _not_visible(label: str, status: str, technology: str) -> str:
    if technology == ELECTROMAGNETIC:
        return (f"The {label} is not tracked ({status}): bring its sensor closer to the field "
                "source, move metal and electrical equipment (coil cart, metal chair, stimulator) "
                "away from the source and the sensor, and check the sensor cable.")
    if technology == OPTICAL:
        return (f"The {label} is not visible ({status}): turn its markers toward the camera and "
                "clear the line of sight.")
    return (f"The {label} is not tracked ({status}): for a camera clear the line of sight; for an "
            "electromagnetic tracker bring the sensor closer to the source and away from metal.")


def tool_problem(label: str, view: _View | None, technology: str) -> str:
    """What is wrong with one tool, in words that fit the device, or "" when it is tracked.

    ``label`` is how the user knows the tool ("head reference"); ``view`` its light and status
    word (None: no tool of that name in the stream).
    """
    if view is None:
        return _not_seen(label, technology)
    if view.light == "green":
        return ""
    if view.text == "stale":
        return f"The {label} data is stale: the tracker stopped sending it."
    if view.text == "disconnected":
        return "The tracker is disconnected."
    if view.text == "no data yet":
        return f"No data from the {label} yet."
    if "out of volume" in view.text:
        return _out_of_volume(label, view.text, technology)
    return _not_visible(label, view.text, technology)
