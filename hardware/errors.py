"""Typed tracker errors: each one carries a message a technician can act on."""

from __future__ import annotations

__all__ = ["TrackerError", "TrackerConnectionError", "ConnectionLost", "ProtocolError",
           "DeviceError", "ToolDefinitionError"]


class TrackerError(Exception):
    """Base of every tracker problem. ``str(err)`` is meant for the user."""


class TrackerConnectionError(TrackerError):
    """Cannot open or talk to the device (wrong port, wrong baud, wrong device, busy port)."""

    def __init__(self, message: str, port: str | None = None) -> None:
        super().__init__(f"{message} (port {port})" if port else message)
        self.port = port


class ConnectionLost(TrackerError):
    """The device went away mid-stream (unplugged cable, closed socket, powered off)."""


class ProtocolError(TrackerError):
    """Bytes that do not parse: bad CRC, bad framing, truncated reply, unexpected answer."""


class DeviceError(TrackerError):
    """The device answered with an error code; ``meaning`` is the vendor's text for it."""

    def __init__(self, code: int, meaning: str, command: str = "") -> None:
        where = f" to {command}" if command else ""
        super().__init__(f"device error 0x{code:02X}{where}: {meaning}")
        self.code = code
        self.meaning = meaning
        self.command = command


class ToolDefinitionError(TrackerError):
    """A tool definition file (ROM, tool JSON) is missing, unreadable or rejected by the device."""
