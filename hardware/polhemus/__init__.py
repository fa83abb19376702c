"""Polhemus FASTRAK / Liberty / Patriot: serial driver, shared record codec, byte-exact emulator.

``PolhemusTracker`` (driver, :mod:`.driver`) and ``PolhemusEmulator`` (:mod:`.emulator`) share the
codec in :mod:`.records`; conventions (Euler order, units) live in :mod:`.orientation`.
See docs/hardware-polhemus-igtl.md.
"""

from .device import PolhemusDevice
from .driver import PolhemusStats, PolhemusTracker, default_output_list
from .emulator import PolhemusEmulator
from .records import PolhemusRecord, RecordFormat, parse_output_list

__all__ = ["PolhemusTracker", "PolhemusStats", "PolhemusEmulator", "PolhemusDevice", "PolhemusRecord",
           "RecordFormat", "parse_output_list", "default_output_list"]
