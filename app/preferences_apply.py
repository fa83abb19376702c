"""Make the clinic settings take effect in the window, and check their device names.

What each setting changes (docs/settings.md):

* tolerances -> the Navigate tab's "On target within" boxes; that tab already passes its
  tolerance on to the bullseye, the large chairside layout, the Treatment tab's pulse log
  ("within tolerance") and its cues, so a pulse is on target exactly when the bullseye was green;
* sounds -> the Treatment tab's "Sound cues" box (the flash always shows);
* coil model -> the Registration tab's coil step (unless a coil is already accepted);
* tracker, stimulator and pulse-source kinds and ports -> those forms (a connected device is left
  alone: the form then shows what is in use);
* distance unit -> the Navigate numbers and the large chairside layout (mm or cm, always named).

Only settings that changed are applied (``previous``): saving the preferences to turn sounds off
must not reset a tolerance the clinician has just tightened on the Navigate tab. The database
URL, the sessions folder and "report identity" are read by the records windows when they
connect or write a report (:mod:`tmsnav.app.records.settings_link`), not pushed from here.

``navigation`` may not import ``hardware``, so the device kinds of a settings file are checked
here against the drivers' own lists (:func:`device_problems`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from tmsnav.hardware.config import KINDS, TrackerConfig
from tmsnav.hardware.triggers.config import PulseSourceConfig
from tmsnav.navigation.clinic_settings import ClinicSettings
from tmsnav.navigation.coils import CoilDefinitionError, list_coil_definitions

__all__ = ["apply_settings", "device_problems", "coil_model_ids", "STIMULATOR_KINDS",
           "PULSE_SOURCE_KINDS"]

log = logging.getLogger(__name__)


def _stimulator_kinds() -> dict[str, str]:
    from .treatment.stimulator_box import MODELS

    return dict(MODELS)


def _pulse_source_kinds() -> dict[str, str]:
    from .treatment.pulse_sources_box import SOURCE_KINDS

    return {key: label for key, label, _hint in SOURCE_KINDS}


STIMULATOR_KINDS = _stimulator_kinds()
PULSE_SOURCE_KINDS = _pulse_source_kinds()


def coil_model_ids() -> dict[str, str]:
    """model_id -> name of every coil file in assets/coils (empty if one cannot be read)."""
    try:
        return {d.model_id: d.name for d in list_coil_definitions()}
    except CoilDefinitionError as exc:
        log.warning("coil files unreadable: %s", exc)
        return {}


def device_problems(s: ClinicSettings) -> dict[str, str]:
    """Setting name -> what is wrong, for the names only the app can check."""
    out: dict[str, str] = {}
    coils = coil_model_ids()
    if coils and s.coil_model_id not in coils:
        out["coil_model_id"] = (f"No coil file has the model id {s.coil_model_id!r}; installed: "
                                f"{', '.join(sorted(coils))}.")
    if s.tracker_kind not in KINDS:
        out["tracker_kind"] = f"Unknown tracker {s.tracker_kind!r}; choose one of {', '.join(KINDS)}."
    elif s.tracker_port.strip():
        try:
            TrackerConfig.parse(f"{s.tracker_kind}:{s.tracker_port.strip()}")
        except ValueError as exc:
            out["tracker_port"] = f"Tracker port: {exc}"
    if s.stimulator_kind not in STIMULATOR_KINDS:
        out["stimulator_kind"] = (f"Unknown stimulator {s.stimulator_kind!r}; choose one of "
                                  f"{', '.join(STIMULATOR_KINDS)}.")
    if s.pulse_source_kind not in PULSE_SOURCE_KINDS:
        out["pulse_source_kind"] = (f"Unknown pulse source {s.pulse_source_kind!r}; choose one of "
                                    f"{', '.join(PULSE_SOURCE_KINDS)}.")
    elif s.pulse_source_detail.strip():
        try:
            PulseSourceConfig.parse(f"{s.pulse_source_kind}:{s.pulse_source_detail.strip()}")
        except ValueError as exc:
            out["pulse_source_detail"] = f"Pulse source: {exc}"
    return out


def _changed(new: ClinicSettings, old: ClinicSettings | None, *names: str) -> bool:
    return old is None or any(getattr(new, n) != getattr(old, n) for n in names)


def _select(combo: Any, key: str) -> bool:
    index = combo.findData(key)
    if index < 0:
        return False
    combo.setCurrentIndex(index)
    return True


def apply_settings(window: Any, new: ClinicSettings, previous: ClinicSettings | None = None) -> list[str]:
    """Push what changed from ``previous`` (everything when None) into ``window``'s panels.

    Returns a message for each setting that could not be applied (shown in the status bar)."""
    notes: list[str] = []
    problems = device_problems(new)
    guidance = getattr(window, "guidance_panel", None)
    if guidance is not None and _changed(new, previous, "tolerance_mm", "tolerance_angle_rad"):
        guidance.tol_mm.setValue(float(new.tolerance_mm))
        guidance.tol_deg.setValue(math.degrees(new.tolerance_angle_rad))
    if _changed(new, previous, "distance_unit"):
        for part in (guidance, getattr(getattr(window, "chairside", None), "view", None)):
            if part is not None and hasattr(part, "set_distance_unit"):
                part.set_distance_unit(new.distance_unit)
    treatment = getattr(window, "treatment_panel", None)
    if treatment is not None and _changed(new, previous, "sounds"):
        treatment.cues.sound.setChecked(bool(new.sounds))
    if _changed(new, previous, "coil_model_id"):
        notes += _apply_coil(window, new, problems)
    if _changed(new, previous, "tracker_kind", "tracker_port"):
        notes += _apply_tracker(window, new, problems)
    if treatment is not None and _changed(new, previous, "stimulator_kind", "stimulator_port"):
        box = treatment.stimulator
        if box.bridge.connected:
            notes.append("The stimulator is connected: its new kind and port apply at the next connection.")
        elif "stimulator_kind" in problems:
            notes.append(problems["stimulator_kind"])
        else:
            _select(box.model, new.stimulator_kind)
            if new.stimulator_port.strip():
                box.port.setCurrentText(new.stimulator_port.strip())
    if treatment is not None and _changed(new, previous, "pulse_source_kind", "pulse_source_detail"):
        sources = treatment.sources
        if "pulse_source_kind" in problems:
            notes.append(problems["pulse_source_kind"])
        else:
            _select(sources.kind, new.pulse_source_kind)
            if new.pulse_source_detail.strip():
                sources.detail.setText(new.pulse_source_detail.strip())
    for note in notes:
        log.warning("clinic settings: %s", note)
    return notes


def _apply_coil(window: Any, new: ClinicSettings, problems: dict[str, str]) -> list[str]:
    registration = getattr(window, "registration_panel", None)
    if registration is None:
        return []
    if "coil_model_id" in problems:
        return [problems["coil_model_id"]]
    if window.state.coil_definition is not None:      # a coil is accepted: never swap it
        return []
    try:
        registration.step("coil").select_model(new.coil_model_id)
    except (KeyError, ValueError) as exc:
        return [f"Coil model not set: {exc}"]
    return []


def _apply_tracker(window: Any, new: ClinicSettings, problems: dict[str, str]) -> list[str]:
    panel = getattr(window, "tracker_panel", None)
    if panel is None:
        return []
    tracking = getattr(window, "tracking", None)
    if tracking is not None and tracking.connected:
        return ["The tracker is connected: its new kind and port apply at the next connection."]
    if "tracker_kind" in problems:
        return [problems["tracker_kind"]]
    _select(panel.kind, new.tracker_kind)
    if new.tracker_port.strip():
        panel.port.setCurrentText(new.tracker_port.strip())
    return []
