"""Magstim 200², BiStim² and Rapid²: remote-control driver, keep-alive and byte-exact emulator."""

from .driver import MagstimDriver
from .emulator import MagstimEmulator
from .keepalive import KeepAlive

__all__ = ["MagstimDriver", "MagstimEmulator", "KeepAlive"]
