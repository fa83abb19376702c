"""The interface every tracker driver implements (NDI, Polhemus, OpenIGTLink, simulator, replay).

Life cycle: ``connect() -> [load_tool_definition()] -> start() -> read_frames()... -> stop() -> close()``.
``read_frames`` blocks for at most ``timeout_s`` and returns one device frame: a list with one
:class:`ToolFrame` per known tool (missing tools included, with ``tracker_from_tool=None``).
Drivers are not thread-safe; :mod:`tmsnav.hardware.acquisition.core` owns one on its own thread.
``close()`` is idempotent and never raises because the port is already gone (InVesalius #225).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolDefinitionError
from .frames import ToolFrame

__all__ = ["ToolInfo", "Tracker"]


@dataclass(frozen=True)
class ToolInfo:
    """A tool the tracker knows: a user-facing name and the device's own id (port handle, station)."""

    name: str
    device_id: str
    description: str = ""


class Tracker(ABC):
    """Abstract tracker. Subclasses convert device units to millimetres before returning poses."""

    #: Human-readable device kind, e.g. "NDI Polaris (BX)", "Polhemus FASTRAK".
    kind: str = "tracker"
    #: The model actually driven, lower case ("liberty", "vega", ...); "" when the driver cannot
    #: tell. Shown in the Tracker tab, so it must be the one in use, never a form default.
    device_model: str = ""
    #: Set at connect when the link cannot carry every frame (see :mod:`.link_budget`): one
    #: sentence with the cause and the remedy, for the GUI; "" when the link is fine.
    link_warning: str = ""
    #: Frames per second the link carries when it is the limit (set with ``link_warning``);
    #: 0 when the link carries every frame. Staleness is judged against it.
    link_rate_hz: float = 0.0

    @property
    @abstractmethod
    def nominal_rate_hz(self) -> float:
        """Device frame rate; sets the staleness limit (3 periods, max 100 ms)."""

    @abstractmethod
    def connect(self) -> None:
        """Open the link, reset/initialise the device. Raises TrackerConnectionError."""

    @abstractmethod
    def tools(self) -> list[ToolInfo]:
        """Tools that ``read_frames`` will report."""

    def load_tool_definition(self, path: Path, name: str | None = None) -> ToolInfo:
        """Upload a tool definition (e.g. an NDI .rom). Drivers without them raise TrackerError."""
        raise ToolDefinitionError(f"{self.kind} does not use tool definition files")

    @abstractmethod
    def start(self) -> None:
        """Begin tracking."""

    @abstractmethod
    def read_frames(self, timeout_s: float = 0.5) -> list[ToolFrame]:
        """Block until the next device frame; raise ConnectionLost when the device is gone."""

    @abstractmethod
    def stop(self) -> None:
        """Stop tracking; the link stays open."""

    @abstractmethod
    def close(self) -> None:
        """Release the port. Idempotent; tolerates a port that has already vanished."""

    def __enter__(self) -> "Tracker":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
