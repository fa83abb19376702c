"""Simulated tracker: a scripted scenario, plus realistic noise and dropouts, served as a Tracker.

Noise model (per tool, per device frame, independent between frames, deterministic from the seed):
position error ~ N(0, s^2 I3) with s = ``position_rms_mm`` / sqrt(3), so the 3-D RMS error is
``position_rms_mm`` (default 0.2 mm; NDI Polaris Vicra states <= 0.25 mm RMS, Vega 0.12-0.15 mm,
from the vendors' data sheets). Orientation error = a rotation vector ~ N(0, a^2 I3) applied at
the marker origin in the tracker frame, with 3-D RMS angle ``position_rms_mm / lever_mm`` rad
(default lever 100 mm, i.e. about 0.11 deg for 0.2 mm: a marker array's angular error is its
marker-position error over its size). A pointer tip 150 mm from the marker therefore jitters by
about 0.35 mm RMS, as real pointer tips do. The reported quality (the "RMS error" field of a
BX/TX reply) is ``0.6 x position_rms_mm`` +/- 15 %, in the 0.05-0.3 mm range of a good passive
tool. Each tool drops out (MISSING) independently with ``dropout_probability`` per frame.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import ConnectionLost, TrackerError
from ..frames import ToolFrame, ToolStatus
from .scenario_library import SCENARIO_NAMES, make_scenario
from .scenarios import Scenario, SimulationTruth
from .head import HeadGeometry
from ..tracker import ToolInfo, Tracker

__all__ = ["NoiseModel", "SimSample", "NoisyPoseSource", "SimulatedTracker", "SCENARIO_NAMES",
           "make_scenario"]

_BLOCK = 256  # frames of noise drawn at once (one RNG stream per block keeps seeks cheap)


@dataclass(frozen=True)
class NoiseModel:
    """Tracker noise; see the module docstring for the model."""

    position_rms_mm: float = 0.2
    lever_mm: float = 100.0
    dropout_probability: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.position_rms_mm <= 10.0:
            raise ValueError(f"position noise must be 0-10 mm RMS, got {self.position_rms_mm}")
        if not self.lever_mm > 0:
            raise ValueError(f"lever_mm must be positive, got {self.lever_mm}")
        if not 0.0 <= self.dropout_probability < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {self.dropout_probability}")

    @property
    def angular_rms_rad(self) -> float:
        return self.position_rms_mm / self.lever_mm


@dataclass(frozen=True)
class SimSample:
    """One tool in one simulated device frame."""

    tracker_from_tool: np.ndarray | None
    status: ToolStatus
    quality_rms_mm: float | None


class NoisyPoseSource:
    """A scenario sampled at a device rate with noise and dropouts.

    ``poses_at(t_s)`` returns ``{tool: tracker_from_tool or None}`` for the device frame that
    contains ``t_s`` (frame ``k = floor(t_s * rate_hz)``, measured at ``k / rate_hz``); every call
    inside one frame returns the same numbers, as a camera frame would. The NDI and Polhemus
    emulators use this object as their ``pose_source``.
    """

    def __init__(self, scenario: Scenario, rate_hz: float = 60.0, noise: NoiseModel | None = None,
                 seed: int = 0) -> None:
        if not 0.5 <= rate_hz <= 2000.0:
            raise ValueError(f"device rate must be 0.5-2000 Hz, got {rate_hz}")
        self.scenario = scenario
        self.rate_hz = float(rate_hz)
        self.noise = noise if noise is not None else NoiseModel()
        self.seed = int(seed)
        self.tools: tuple[str, ...] = tuple(scenario.tools)
        self._blocks: dict[int, np.ndarray] = {}

    def frame_index(self, t_s: float) -> int:
        return int(math.floor(max(t_s, 0.0) * self.rate_hz + 1e-9))

    def frame_time_s(self, index: int) -> float:
        return index / self.rate_hz

    def phase_at(self, t_s: float) -> str:
        return self.scenario.phase_at(t_s)

    def _draws(self, index: int) -> np.ndarray:
        block = index // _BLOCK
        draws = self._blocks.get(block)
        if draws is None:
            rng = np.random.default_rng([self.seed, block])
            draws = rng.standard_normal((_BLOCK, len(self.tools), 8))
            draws[:, :, 7] = rng.random((_BLOCK, len(self.tools)))
            if len(self._blocks) > 4:
                self._blocks.clear()
            self._blocks[block] = draws
        return draws[index % _BLOCK]

    def sample_frame(self, index: int, t_s: float | None = None) -> dict[str, SimSample]:
        """Noisy samples of every tool in device frame ``index``: the scenario at the frame's
        own time, or at scenario time ``t_s`` (a :class:`~.clock.ScenarioClock`'s) with the
        frame's noise and dropouts."""
        truth = self.scenario.poses_at(self.frame_time_s(index) if t_s is None else t_s)
        draws = self._draws(index)
        sigma_p = self.noise.position_rms_mm / math.sqrt(3.0)
        sigma_a = self.noise.angular_rms_rad / math.sqrt(3.0)
        out: dict[str, SimSample] = {}
        for i, tool in enumerate(self.tools):
            pose, d = truth.get(tool), draws[i]
            if pose is None or d[7] < self.noise.dropout_probability:
                out[tool] = SimSample(None, ToolStatus.MISSING, None)
                continue
            noisy = np.array(pose, dtype=float)
            if sigma_a > 0:
                noisy[:3, :3] = Rotation.from_rotvec(d[3:6] * sigma_a).as_matrix() @ noisy[:3, :3]
            noisy[:3, 3] += d[0:3] * sigma_p
            quality = max(0.01, 0.6 * self.noise.position_rms_mm * (1.0 + 0.15 * float(d[6])))
            out[tool] = SimSample(noisy, ToolStatus.OK, quality)
        return out

    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]:
        return {tool: s.tracker_from_tool
                for tool, s in self.sample_frame(self.frame_index(t_s)).items()}


class SimulatedTracker(Tracker):
    """A :class:`Tracker` playing a scenario: the demo's device and many tests' truth source.

    ``realtime=True``: ``read_frames`` blocks until the next frame is due (frame k at
    ``start + k / rate_hz`` on ``clock_ns``) and, like a polled camera, skips to the current frame
    when the caller is late (the frame-number gap shows the drop). ``realtime=False``: frames come
    back-to-back as fast as they are read (tests). Frame numbers start at ``first_frame_number``
    and step by one per device frame. ``phase`` is the scenario phase of the last frame.

    ``scenario_clock`` (e.g. a :class:`~tmsnav.hardware.simulation.clock.ScenarioClock`): the
    tools are where the scenario has them at *that* clock's time, while the frames keep their
    device rate, numbers and noise; a test pauses the technician in a hold or skips to a phase
    instead of following it in real time.
    """

    kind = "Simulated tracker"

    def __init__(self, scenario: Scenario | str = "idle", *, head: HeadGeometry | None = None,
                 rate_hz: float = 60.0, noise: NoiseModel | None = None, seed: int = 0,
                 realtime: bool = True, clock_ns: Callable[[], int] = time.monotonic_ns,
                 sleep: Callable[[float], None] = time.sleep, first_frame_number: int = 0,
                 loop: bool = False, scenario_clock: Callable[[], float] | None = None,
                 **scenario_options: Any) -> None:
        if isinstance(scenario, str):
            scenario = make_scenario(scenario, head=head, seed=seed, loop=loop, **scenario_options)
        elif scenario_options or head is not None:
            raise ValueError("head and scenario options apply only when the scenario is given "
                             "by name; build the Scenario with make_scenario() instead")
        self.scenario = scenario
        self.source = NoisyPoseSource(scenario, rate_hz, noise, seed)
        self.realtime = realtime
        self._clock_ns, self._sleep = clock_ns, sleep
        self._first = int(first_frame_number)
        self._connected = self._tracking = False
        self._fail: str | None = None
        self._t0_ns = 0
        self._next = 0
        self._last_index: int | None = None
        self._last_t_s = 0.0
        self.scenario_clock = scenario_clock
        self.forced_missing: set[str] = set()

    @property
    def nominal_rate_hz(self) -> float:
        return self.source.rate_hz

    @property
    def truth(self) -> SimulationTruth:
        """The hidden :class:`~tmsnav.hardware.simulation.scenarios.SimulationTruth` (for tests and the demo)."""
        return self.scenario.truth

    @property
    def elapsed_s(self) -> float:
        """Scenario time of the last frame read (0 before the first)."""
        return 0.0 if self._last_index is None else self._last_t_s

    @property
    def phase(self) -> str:
        return self.scenario.phase_at(self.elapsed_s)

    def connect(self) -> None:
        if self._fail is not None:
            raise ConnectionLost(self._fail)
        self._connected = True

    def tools(self) -> list[ToolInfo]:
        return [ToolInfo(name, f"sim{i + 1}", "simulated " + name)
                for i, name in enumerate(self.source.tools)]

    def start(self) -> None:
        if not self._connected:
            raise TrackerError("simulated tracker: call connect() before start()")
        self._tracking = True
        self._t0_ns = self._clock_ns()
        self._next = 0

    def unplug(self, reason: str = "simulated cable unplug") -> None:
        """Make the device vanish: the next ``read_frames`` (and ``connect``) raise ConnectionLost."""
        self._fail = reason

    def replug(self) -> None:
        """Undo :meth:`unplug`: ``connect()`` works again (tracking must be restarted)."""
        self._fail = None

    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        if self._fail is not None:
            self._tracking = self._connected = False
            raise ConnectionLost(self._fail)
        if not self._tracking:
            raise TrackerError("simulated tracker is not tracking: call start() first")
        period_ns = 1e9 / self.source.rate_hz
        index = self._next
        if self.realtime:
            now = self._clock_ns()
            due = self._t0_ns + int(index * period_ns)
            if due - now > timeout_s * 1e9:
                self._sleep(timeout_s)
                return []
            if due > now:
                self._sleep((due - now) / 1e9)
                now = self._clock_ns()  # a starved thread can wake long after the due time
            # late: a polled camera answers with its current frame, never an old one
            index = max(index, int((now - self._t0_ns) // period_ns))
        clock = self.scenario_clock
        t_s = self.source.frame_time_s(index) if clock is None else float(clock())
        samples = self.source.sample_frame(index, t_s)
        self._last_index, self._last_t_s, self._next = index, t_s, index + 1
        host_ns = self._clock_ns()
        frames = []
        for tool, s in samples.items():
            if tool in self.forced_missing:
                s = SimSample(None, ToolStatus.MISSING, None)
            frames.append(ToolFrame(tool, s.tracker_from_tool, s.status, s.quality_rms_mm,
                                    frame_number=self._first + index,
                                    device_time_s=self.source.frame_time_s(index),
                                    host_time_ns=host_ns))
        return frames

    def stop(self) -> None:
        self._tracking = False

    def close(self) -> None:
        self._tracking = self._connected = False
