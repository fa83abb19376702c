"""The simulated tracker used by the demo and the tests: scripted clinical scenarios, their motion
primitives, the simulated head and coil geometry, and the noisy tracker that serves them.
See docs/hardware-core.md.
"""

from .motion import (PoseFn, MotionContext, touch_pose, hold, move, move_duration, slide, slide_duration, pivot,
                     coil_sway, head_turn)
from .head import HeadGeometry, ScalpSurface, demo_head_geometry, DEMO_HEAD_SEMI_AXES_MM, DEMO_HEAD_CENTRE_MM
from .coil import SimCoil, load_sim_coil, SIM_COIL_FILE, HANDLE_MOUNTED_COIL_FROM_HOTSPOT
from .scenarios import (TOOL_REFERENCE, TOOL_POINTER, TOOL_COIL, SIM_TOOLS, Segment, SimulationTruth, Scenario,
                        DEFAULT_POINTER_FROM_TIP, DEFAULT_COIL_FROM_HOTSPOT)
from .scenario_library import SCENARIO_NAMES, make_scenario
from .tracker import NoiseModel, SimSample, NoisyPoseSource, SimulatedTracker
from .clock import ScenarioClock

__all__ = [
    "PoseFn", "MotionContext", "touch_pose", "hold", "move", "move_duration", "slide", "slide_duration", "pivot",
    "coil_sway", "head_turn", "HeadGeometry", "ScalpSurface", "demo_head_geometry", "DEMO_HEAD_SEMI_AXES_MM",
    "DEMO_HEAD_CENTRE_MM", "SimCoil", "load_sim_coil", "SIM_COIL_FILE", "HANDLE_MOUNTED_COIL_FROM_HOTSPOT",
    "TOOL_REFERENCE", "TOOL_POINTER", "TOOL_COIL", "SIM_TOOLS", "Segment", "SimulationTruth", "Scenario",
    "DEFAULT_POINTER_FROM_TIP", "DEFAULT_COIL_FROM_HOTSPOT", "SCENARIO_NAMES", "make_scenario", "NoiseModel",
    "SimSample", "NoisyPoseSource", "SimulatedTracker", "ScenarioClock"
]
