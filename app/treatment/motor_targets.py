"""The motor box's edits of the target list and its checks against the tracked coil.

Kept apart from the box's widgets: each edit goes through ``AppState.targets_edited`` (the session
records it) and the planning panel's undo stack (Edit > Undo), like every other target edit
(:mod:`tmsnav.app.planning.target_undo`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tmsnav.navigation.targeting.targets import Target, TargetSet
from tmsnav.navigation.treatment.motor_map import MotorGrid

from ..planning.target_undo import TargetEdit, snapshot

__all__ = ["HOTSPOT_NAME", "aim_at_site", "set_hotspot_target", "coil_off_site", "dose_depths"]

HOTSPOT_NAME = "Motor hotspot"
GRID_SOURCES = ("motor-hotspot", "motor-grid")


def aim_at_site(window: Any, site_target: Target, label: str) -> None:
    """``site_target`` becomes the active target (Navigate guides to it); the grid-site target
    that was there before goes, so the list holds one grid site at a time. Undoable."""
    state = window.state
    before = snapshot(state.targets)
    for t in list(state.targets):
        if t.source == "motor-grid":
            state.targets.remove(t.name)
    state.targets.add(site_target)
    state.targets.select(site_target.name)
    reason = f"aim at motor grid site {label}"
    state.targets_edited(reason)
    window.planning_panel.undo_stack.push(TargetEdit(state, before, reason))


def set_hotspot_target(window: Any, target: Target) -> None:
    """Add (or replace) the "Motor hotspot" target and make it active. Undoable."""
    state = window.state
    before = snapshot(state.targets)
    if target.name in state.targets:
        state.targets.replace(target)
    else:
        state.targets.add(target)
    state.targets.select(target.name)
    state.targets_edited("motor hotspot from the MEP map")
    window.planning_panel.undo_stack.push(TargetEdit(state, before, "motor hotspot"))


def coil_off_site(history: Any, grid: MotorGrid, label: str, pulse_time_ns: int | None) -> str | None:
    """Why an MEP cannot belong to site ``label``: the coil pose live at the pulse (now when None)
    was more than half the spacing from the site. None when it was on the site or no live pose is
    known (no tracker: a grid followed on a cap by hand is not checked)."""
    if history is None:
        return None
    pose, _reason = history.pose_at(time.monotonic_ns() if pulse_time_ns is None else int(pulse_time_ns))
    if pose is None:
        return None
    site = grid.site(label)
    off = float(np.linalg.norm(pose.translation - site.target.scalp_point_mm))
    if off <= 0.5 * grid.spacing_mm:
        return None
    return (f"the coil was {off:.1f} mm from site {site.label} at this pulse (more than half the "
            f"{grid.spacing_mm:g} mm spacing): aim at {site.label} and repeat")


def dose_depths(targets: TargetSet) -> tuple[float | None, float | None]:
    """(hotspot depth, treatment target depth) for the Stokes 2005 suggestion: the treatment
    target is the active one unless it is the hotspot or a grid site; both or neither."""
    motor = targets[HOTSPOT_NAME].depth_mm if HOTSPOT_NAME in targets else None
    active = targets.active
    treat = None if active is None or active.source in GRID_SOURCES else active.depth_mm
    return (motor, treat) if motor is not None and treat is not None else (None, None)
