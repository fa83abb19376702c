"""The Magstim's serial line: pyserial at 9600 bps 8N1, every OS failure turned into a typed error.

A pulled USB-serial adapter or a closed pty shows up in pyserial as ``SerialException`` or
``OSError`` (and ``termios.error`` from a flush on a vanished pty); all of them become
:class:`~tmsnav.hardware.stimulators.base.StimulatorLinkLost` naming the port, so the driver never
lets a bare traceback reach the GUI. Works with a serial port, a pty and a ``socket://`` URL.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import serial

from ..base import StimulatorError, StimulatorLinkLost

__all__ = ["MagstimLink", "BAUD"]

BAUD = 9600
_SLICE_S = 0.02


def _os_errors() -> tuple[type[BaseException], ...]:
    termios = sys.modules.get("termios")   # never imported here: Windows has none
    base: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
    return base + (termios.error,) if termios is not None else base


class MagstimLink:
    """One open port. Not thread-safe: the driver serialises access with its own lock."""

    def __init__(self, port: str) -> None:
        self.port = port
        self._serial: Any
        try:
            self._serial = serial.serial_for_url(port, baudrate=BAUD, bytesize=8, parity="N",
                                                 stopbits=1, timeout=_SLICE_S, write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            text = str(exc)
            if "Permission denied" in text:
                hint = "no permission: on Linux add your user to the 'dialout' group and log in again"
            elif "No such file" in text or "could not open port" in text.lower():
                hint = "no such port: is the cable or USB adapter plugged in, and is the name right?"
            else:
                hint = text
            raise StimulatorError(f"cannot open {port}: {hint}") from None

    def _lost(self, exc: BaseException) -> StimulatorLinkLost:
        return StimulatorLinkLost(f"lost the connection to the Magstim on {self.port} "
                                  f"(cable pulled or unit switched off?): {exc}")

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def read(self, n: int, deadline: float) -> bytes:
        """Up to ``n`` bytes, returning as soon as any arrive or at ``deadline`` (monotonic s)."""
        try:
            while True:
                data = self._serial.read(max(1, min(n, self._serial.in_waiting or 1)))
                if data or time.monotonic() >= deadline:
                    return bytes(data)
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def discard_input(self) -> bytes:
        """Drop and return whatever is waiting (leftovers and line noise)."""
        try:
            waiting = self._serial.in_waiting
            return bytes(self._serial.read(waiting)) if waiting else b""
        except _os_errors() as exc:
            raise self._lost(exc) from None

    def close(self) -> None:
        """Release the port; never raises (it may already be gone)."""
        try:
            self._serial.close()
        except Exception:  # noqa: BLE001 - a vanished device may fail in any way on close
            pass
