"""MagVenture MagPro (R30, X100, with or without MagOption): serial driver and byte-exact emulator."""

from .driver import MagVentureDriver, MepEvent
from .emulator import MagProEmulator

__all__ = ["MagVentureDriver", "MepEvent", "MagProEmulator"]
