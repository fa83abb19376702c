"""Scripted clinical scenarios: what the pointer, coil and head reference do over time.

A :class:`Scenario` is a list of :class:`Segment`\\ s (phase label + duration + how each tool
moves) over a hidden :class:`SimulationTruth` (where the head sits in the camera, the true
registration, the tool geometry). ``poses_at(t_s)`` gives the noise-free ``tracker_from_tool``
of every tool (``None`` = not visible); :mod:`tmsnav.hardware.simulation.tracker` adds noise and dropouts and
the device emulators (NDI, Polhemus) play the same scenarios through their ``pose_source``.
After its last segment a scenario keeps running that segment (a hold keeps swaying) unless it
loops. Build one with :func:`make_scenario`; the scenario builders live in
:mod:`tmsnav.hardware.simulation.scenario_library`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..rigid import frame_from_z_axis, invert_rigid, is_rigid, rigid, translation
from .coil import load_sim_coil
from .head import HeadGeometry
from .motion import PoseFn

__all__ = ["TOOL_REFERENCE", "TOOL_POINTER", "TOOL_COIL", "SIM_TOOLS", "Segment",
           "SimulationTruth", "Scenario", "DEFAULT_POINTER_FROM_TIP", "DEFAULT_COIL_FROM_HOTSPOT"]

TOOL_REFERENCE, TOOL_POINTER, TOOL_COIL = "reference", "pointer", "coil"
SIM_TOOLS = (TOOL_REFERENCE, TOOL_POINTER, TOOL_COIL)

#: Pointer tip 150 mm along the pointer marker's -z axis; tip axes parallel to the marker's.
DEFAULT_POINTER_FROM_TIP = translation(np.array([0.0, 0.0, -150.0]))
#: The simulated coil is the shipped generic figure-8 definition (``assets/coils``): its
#: marker mount is read from that file, so the demo's "accept the definition file" is true.
DEFAULT_COIL_FROM_HOTSPOT = load_sim_coil().coil_from_hotspot
#: Longest plausible tool tip / hotspot offset (reliability note B3.9): beyond it, wrong units.
MAX_TOOL_OFFSET_MM = 500.0


@dataclass(frozen=True)
class Segment:
    """One phase of a scenario. Pointer: ``head_from_tip`` (touching the head) or
    ``tracker_from_tip`` (room-fixed, e.g. the pivot divot), or neither = parked on the table.
    Coil: ``head_from_hotspot`` or parked. ``hidden`` tools are occluded for the whole phase."""

    phase: str
    duration_s: float
    head_from_tip: PoseFn | None = None
    tracker_from_tip: PoseFn | None = None
    head_from_hotspot: PoseFn | None = None
    hidden: frozenset[str] = frozenset()


def _checked_pose(m: np.ndarray | None, name: str, max_offset_mm: float | None = None) -> np.ndarray:
    arr = np.asarray(m, dtype=float)
    if arr.shape != (4, 4) or not is_rigid(arr):
        raise ValueError(f"{name} must be a rigid 4x4 transform (mm), got {arr.shape}")
    if max_offset_mm is not None and np.linalg.norm(arr[:3, 3]) > max_offset_mm:
        raise ValueError(f"{name} offset is {np.linalg.norm(arr[:3, 3]):.0f} mm, above "
                         f"{max_offset_mm:.0f} mm: is it in metres/cm, or the wrong tool?")
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """The hidden truth the technician has to find: every pose the real world would have.

    ``tracker_from_reference`` is the head reference marker in the camera at t = 0 (it moves in
    "head_motion"); ``reference_from_head`` is the true registration (head = MRI frame of the
    sample head); ``pointer_from_tip`` and ``coil_from_hotspot`` are the tool geometries.
    ``tracker_from_pointer_parked`` / ``tracker_from_coil_parked``: where idle tools lie.
    ``coil_landmarks_hotspot_mm``: points on the coil's casing (the coil model's shape, which
    does not depend on how the marker is mounted), for the pointer to touch.
    """

    head: HeadGeometry
    tracker_from_reference: np.ndarray
    reference_from_head: np.ndarray
    pointer_from_tip: np.ndarray
    coil_from_hotspot: np.ndarray
    tracker_from_pointer_parked: np.ndarray
    tracker_from_coil_parked: np.ndarray
    coil_landmarks_hotspot_mm: Mapping[str, np.ndarray] = field(
        default_factory=lambda: dict(load_sim_coil().landmarks_hotspot_mm))

    def __post_init__(self) -> None:
        for name in ("tracker_from_reference", "reference_from_head", "tracker_from_pointer_parked",
                     "tracker_from_coil_parked"):
            object.__setattr__(self, name, _checked_pose(getattr(self, name), name))
        for name in ("pointer_from_tip", "coil_from_hotspot"):
            object.__setattr__(self, name, _checked_pose(getattr(self, name), name,
                                                         MAX_TOOL_OFFSET_MM))

    @property
    def tracker_from_head(self) -> np.ndarray:
        return self.tracker_from_reference @ self.reference_from_head

    @property
    def toward_camera_head(self) -> np.ndarray:
        """Unit vector, in the head frame, from the head toward the camera (tracker origin)."""
        head_from_tracker = invert_rigid(self.tracker_from_head)
        v = head_from_tracker[:3, 3] - self.head.centroid_mm
        return v / np.linalg.norm(v)

    @classmethod
    def default(cls, head: HeadGeometry, *, tracker_from_reference: np.ndarray | None = None,
                reference_from_head: np.ndarray | None = None,
                pointer_from_tip: np.ndarray | None = None,
                coil_from_hotspot: np.ndarray | None = None) -> "SimulationTruth":
        """A plausible set-up: camera 1.5 m in front of and above the patient (the head at
        tracker z = -1500 mm, inside a Polaris volume), reference on a headband at the left
        forehead facing the camera, tools parked on a table either side of the head."""
        c = head.centroid_mm
        camera_dir_head = np.array([0.2, 0.7, 0.7]) / np.linalg.norm([0.2, 0.7, 0.7])
        head_from_tracker_rot = frame_from_z_axis(camera_dir_head, y_hint=np.array([0, 0, 1.0]))
        tracker_from_head = rigid(head_from_tracker_rot.T, np.array([30.0, -50.0, -1500.0])
                                  - head_from_tracker_rot.T @ c)
        if reference_from_head is None:
            spot = c + np.array([-45.0, 85.0, 70.0])
            head_from_reference = rigid(frame_from_z_axis(camera_dir_head, np.array([0, 0, 1.0])),
                                        spot)
            reference_from_head = invert_rigid(head_from_reference)
        reference_from_head = _checked_pose(reference_from_head, "reference_from_head")
        if tracker_from_reference is None:
            tracker_from_reference = tracker_from_head @ invert_rigid(reference_from_head)
        tracker_from_reference = _checked_pose(tracker_from_reference, "tracker_from_reference")
        tracker_from_head = tracker_from_reference @ reference_from_head
        # Parked tools lie on a table 250 mm either side of the head and 150 mm lower.
        side = tracker_from_head[:3, :3] @ np.array([1.0, 0.0, 0.0])
        down = tracker_from_head[:3, :3] @ np.array([0.0, 0.0, -1.0])
        centre_t = tracker_from_head[:3, :3] @ c + tracker_from_head[:3, 3]
        toward_camera = -centre_t / np.linalg.norm(centre_t)
        lying = frame_from_z_axis(toward_camera, y_hint=side)
        pointer_parked = rigid(lying, centre_t + 250 * side + 150 * down)
        coil_parked = rigid(lying, centre_t - 250 * side + 150 * down)
        return cls(head=head, tracker_from_reference=tracker_from_reference,
                   reference_from_head=reference_from_head,
                   pointer_from_tip=DEFAULT_POINTER_FROM_TIP if pointer_from_tip is None
                   else pointer_from_tip,
                   coil_from_hotspot=DEFAULT_COIL_FROM_HOTSPOT if coil_from_hotspot is None
                   else coil_from_hotspot,
                   tracker_from_pointer_parked=pointer_parked,
                   tracker_from_coil_parked=coil_parked)


class Scenario:
    """A named, scripted scenario. ``poses_at(t_s)`` -> ``{tool: tracker_from_tool or None}``.

    ``info`` holds the scenario's own truth for tests (e.g. ``"touched_points_head"``,
    ``"sweep_points_head"``, ``"pivot_point_tracker"``, ``"head_from_target"``).
    """

    tools: tuple[str, ...] = SIM_TOOLS

    def __init__(self, name: str, truth: SimulationTruth, segments: list[Segment], *,
                 head_motion: Callable[[float], np.ndarray] | None = None, loop: bool = False,
                 info: dict[str, Any] | None = None) -> None:
        if not segments:
            raise ValueError(f"scenario {name!r} has no segments")
        if any(not s.duration_s > 0 for s in segments):
            raise ValueError(f"scenario {name!r}: every segment needs a positive duration")
        self.name = name
        self.truth = truth
        self.segments = list(segments)
        self.loop = loop
        self.info: dict[str, Any] = dict(info or {})
        self._head_motion = head_motion
        self._starts = list(np.cumsum([0.0] + [s.duration_s for s in segments[:-1]]))
        self.duration_s = float(self._starts[-1] + segments[-1].duration_s)
        self._tip_from_pointer = invert_rigid(truth.pointer_from_tip)
        self._hotspot_from_coil = invert_rigid(truth.coil_from_hotspot)
        self._head_from_reference = invert_rigid(truth.reference_from_head)

    def _locate(self, t_s: float) -> tuple[Segment, float, float]:
        t = max(float(t_s), 0.0)
        if self.loop and t >= self.duration_s:
            t = t % self.duration_s
        i = bisect.bisect_right(self._starts, t) - 1
        return self.segments[i], t - self._starts[i], t

    def phase_at(self, t_s: float) -> str:
        return self._locate(t_s)[0].phase

    def phases(self) -> list[tuple[str, float, float]]:
        """``(phase, start_s, end_s)`` for every segment in order."""
        return [(s.phase, float(t0), float(t0 + s.duration_s))
                for s, t0 in zip(self.segments, self._starts)]

    def window(self, phase: str, occurrence: int = 0) -> tuple[float, float]:
        """Start and end time of the ``occurrence``-th segment labelled ``phase``."""
        hits = [(t0, t1) for p, t0, t1 in self.phases() if p == phase]
        if len(hits) <= occurrence:
            known = ", ".join(dict.fromkeys(p for p, _, _ in self.phases()))
            raise ValueError(f"scenario {self.name!r} has no phase {phase!r} #{occurrence} "
                             f"(phases: {known})")
        return hits[occurrence]

    def tracker_from_head_at(self, t_s: float) -> np.ndarray:
        tracker_from_head = self.truth.tracker_from_head
        if self._head_motion is None:
            return tracker_from_head
        return tracker_from_head @ self._head_motion(self._locate(t_s)[2])

    def tracker_from_reference_at(self, t_s: float) -> np.ndarray:
        return self.tracker_from_head_at(t_s) @ self._head_from_reference

    def tip_pose_at(self, t_s: float) -> np.ndarray:
        """True ``tracker_from_tip`` of the pointer (visible or not)."""
        seg, u, t = self._locate(t_s)
        if seg.tracker_from_tip is not None:
            return seg.tracker_from_tip(u, t)
        if seg.head_from_tip is not None:
            return self.tracker_from_head_at(t) @ seg.head_from_tip(u, t)
        return self.truth.tracker_from_pointer_parked @ self.truth.pointer_from_tip

    def hotspot_pose_at(self, t_s: float) -> np.ndarray:
        """True ``tracker_from_hotspot`` of the coil (visible or not)."""
        seg, u, t = self._locate(t_s)
        if seg.head_from_hotspot is not None:
            return self.tracker_from_head_at(t) @ seg.head_from_hotspot(u, t)
        return self.truth.tracker_from_coil_parked @ self.truth.coil_from_hotspot

    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]:
        """Noise-free ``tracker_from_tool`` per tool; ``None`` for a tool hidden in this phase."""
        seg = self._locate(t_s)[0]
        poses: dict[str, np.ndarray | None] = {
            TOOL_REFERENCE: self.tracker_from_reference_at(t_s),
            TOOL_POINTER: self.tip_pose_at(t_s) @ self._tip_from_pointer,
            TOOL_COIL: self.hotspot_pose_at(t_s) @ self._hotspot_from_coil,
        }
        for tool in seg.hidden:
            poses[tool] = None
        return poses

    def __repr__(self) -> str:
        return f"<Scenario {self.name!r} {self.duration_s:.1f} s, {len(self.segments)} phases>"
