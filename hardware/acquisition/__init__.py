"""Acquisition: one tracker on its own thread (or process), the frame bookkeeping, and
recording/replay of the frame stream. See docs/hardware-core.md.
"""

from .state import (AcquisitionStats, BatchFrameCheck, FrameVerdict, staleness_limit_ns, disconnected_frames,
                    measured_together, describe_error, call_quietly, measured_rate_hz)
from .core import Acquisition
from .process import BridgeHost, check_process_isolation, run_bridge, child_main
from .recording import (RECORDING_FORMAT, RECORDING_VERSION, RecordingError, RecordingHeader, TrackingRecorder,
                        ReplayTracker, read_recording)

__all__ = [
    "AcquisitionStats", "BatchFrameCheck", "FrameVerdict", "staleness_limit_ns", "disconnected_frames",
    "measured_together", "describe_error", "call_quietly", "measured_rate_hz", "Acquisition", "BridgeHost",
    "check_process_isolation", "run_bridge", "child_main", "RECORDING_FORMAT", "RECORDING_VERSION",
    "RecordingError", "RecordingHeader", "TrackingRecorder", "ReplayTracker", "read_recording"
]
