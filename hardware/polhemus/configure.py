"""Serial link helpers and the connect-time set-up of a Polhemus unit (probe, configure, verify).

FASTRAK probe = the ``S`` status record (manual rev. G p. 68-69): ``2<st>S`` + 3 hex flag digits
(bit 0 binary, bit 1 centimetres, bit 3 continuous) + ... + sensor map digit at byte 13, 55 bytes
with CR LF. It is read again after configuration to check that binary/ASCII and inch/cm were
taken. Liberty/Patriot probe = ^U0 CR, answered by an 8-byte ``LY``/``PA`` header (command 21) and
uint16 detected + uint16 active sensor bit maps (polhemus_ros_driver).
"""

from __future__ import annotations

import logging
import struct
import time
from typing import Callable, TypeVar

import serial

from ..errors import ConnectionLost, TrackerConnectionError
from .records import LIBERTY_MAGIC, RecordFormat

__all__ = ["SerialLink", "configure_fastrak", "configure_liberty", "parse_fastrak_status"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_CTRL_U = b"\x15"


class SerialLink:
    """A pyserial port plus the error translation: any port failure becomes ``ConnectionLost``."""

    def __init__(self, port: serial.SerialBase, name: str, kind: str, command_gap_s: float = 0.005) -> None:
        self.port = port
        self.name = name
        self.kind = kind
        self.command_gap_s = command_gap_s

    def _lost(self, exc: Exception) -> ConnectionLost:
        return ConnectionLost(f"{self.kind} on {self.name} stopped answering: cable unplugged or unit "
                              f"switched off ({exc})")

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def command(self, data: bytes) -> None:
        """Send a set-up command and give the unit a moment to digest it."""
        self.write(data)
        if self.command_gap_s > 0:
            time.sleep(self.command_gap_s)

    def read_some(self, timeout_s: float) -> bytes:
        """Whatever is waiting, or block for at most the port's short timeout for one byte."""
        try:
            waiting = self.port.in_waiting
            data = self.port.read(waiting if waiting > 0 else 1)
            if not data and timeout_s > 0.02:
                data = self.port.read(1)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc
        return data

    def read_backlog(self) -> bytes:
        """Everything already waiting in the port, without blocking."""
        try:
            waiting = self.port.in_waiting
            return self.port.read(waiting) if waiting > 0 else b""
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def reset_input(self) -> None:
        try:
            self.port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def drain(self, quiet_s: float = 0.05, max_s: float = 1.0) -> bytes:
        """Read and return everything until the line has been quiet for ``quiet_s``."""
        got = bytearray()
        end = time.monotonic() + max_s
        quiet_since = time.monotonic()
        while time.monotonic() < end:
            chunk = self.read_some(0.02)
            if chunk:
                got += chunk
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                break
        return bytes(got)

    def read_until(self, parse: Callable[[bytes], T | None], timeout_s: float,
                   max_len: int = 4096) -> tuple[T | None, bytes]:
        """Accumulate bytes until ``parse(buffer)`` returns a value or the timeout expires."""
        buf = bytearray()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and len(buf) < max_len:
            chunk = self.read_some(end - time.monotonic())
            if chunk:
                buf += chunk
                result = parse(bytes(buf))
                if result is not None:
                    return result, bytes(buf)
        return None, bytes(buf)

    def close(self) -> None:
        try:
            self.port.close()
        except (serial.SerialException, OSError) as exc:  # port already vanished (InVesalius #225)
            log.info("closing %s: %s", self.name, exc)


def _no_answer(link: SerialLink, what: str, timeout_s: float, baud: int) -> TrackerConnectionError:
    return TrackerConnectionError(
        f"no answer from the {link.kind} to {what} within {timeout_s:.1f} s: check that it is switched on, "
        f"that the cable is in this port and that the unit is set to {baud} baud", link.name)


def _garbage(link: SerialLink, what: str, data: bytes, baud: int) -> TrackerConnectionError:
    return TrackerConnectionError(
        f"unreadable answer from the {link.kind} to {what} ({len(data)} bytes, starting {data[:12]!r}): "
        f"most likely a baud-rate mismatch. tmsnav uses {baud} baud; set the unit to the same rate "
        "(FASTRAK: I/O select switches) or change the baud setting", link.name)


# ----- FASTRAK ------------------------------------------------------------------------------------------
def parse_fastrak_status(buf: bytes) -> tuple[int, set[int]] | None:
    """(flags, present stations) from a buffer holding a 55-byte ``S`` record, else None."""
    i = buf.find(b"S")
    while i >= 2:
        start = i - 2
        rec = buf[start:start + 55]
        if (rec[:1] == b"2" and rec[1:2] in (b"1", b"2", b"3", b"4") and len(rec) == 55
                and rec[53:55] == b"\r\n"):
            try:
                flags = int(rec[3:6], 16)
                sensor_map = int(rec[12:13], 16)
            except ValueError:
                return None
            return flags, {s for s in range(1, 5) if sensor_map & (1 << (s - 1))}
        i = buf.find(b"S", i + 1)
    return None


def _fastrak_status(link: SerialLink, timeout_s: float, baud: int) -> tuple[int, set[int]]:
    link.write(b"S")
    status, data = link.read_until(parse_fastrak_status, timeout_s, max_len=1024)
    if status is None:
        raise _no_answer(link, "the status request 'S'", timeout_s, baud) if not data else \
            _garbage(link, "the status request 'S'", data, baud)
    return status


def _readback_list(link: SerialLink, station: int, timeout_s: float) -> tuple[int, ...] | None:
    prefix = b"2" + str(station).encode() + b"O"

    def parse(buf: bytes) -> bytes | None:
        i = buf.find(prefix)
        j = buf.find(b"\r\n", i) if i >= 0 else -1
        return buf[i + 3:j] if j >= 0 else None

    link.write(b"O%d\r" % station)
    body, _ = link.read_until(parse, timeout_s, max_len=256)
    if body is None or len(body) % 2:
        return None
    try:
        return tuple(int(body[k:k + 2]) for k in range(0, len(body), 2))
    except ValueError:
        return None


def configure_fastrak(link: SerialLink, fmt: RecordFormat, units: str, requested: list[int] | None,
                      timeout_s: float) -> list[int]:
    """Probe, configure and verify a FASTRAK; return the stations in use."""
    baud = getattr(link.port, "baudrate", 0)
    link.write(b"c")  # stop a stream left running by a previous session
    link.drain(quiet_s=0.05, max_s=1.0)
    _, present = _fastrak_status(link, timeout_s, baud)
    stations = sorted(requested) if requested else sorted(present)
    if not stations:
        raise TrackerConnectionError(f"the {link.kind} reports no receiver plugged in", link.name)
    missing = [s for s in stations if s not in present]
    if missing:
        raise TrackerConnectionError(f"no receiver in {link.kind} station(s) {missing}; "
                                     f"the unit reports stations {sorted(present)}", link.name)
    link.command(b"f" if fmt.binary else b"F")
    link.command(b"u" if units == "cm" else b"U")
    for s in sorted(present):
        link.command(f"l{s},{1 if s in stations else 0}\r".encode())
    items = ",".join(str(i) for i in fmt.items)
    for s in stations:
        link.command(f"O{s},{items}\r".encode())
    replies = link.drain(quiet_s=0.05, max_s=1.0)
    if b"*ERROR*" in replies:
        first_error = replies[replies.find(b"2 E"):].split(b"\r")[0]
        raise TrackerConnectionError(f"the {link.kind} rejected the set-up: {first_error!r}", link.name)
    flags, _ = _fastrak_status(link, timeout_s, baud)
    if bool(flags & 1) != fmt.binary or bool(flags & 2) != (units == "cm"):
        raise TrackerConnectionError(
            f"the {link.kind} did not take the settings (status flags {flags:03X}: "
            f"{'binary' if flags & 1 else 'ASCII'}, {'cm' if flags & 2 else 'inches'}; wanted "
            f"{'binary' if fmt.binary else 'ASCII'}, {units})", link.name)
    for s in stations:
        got = _readback_list(link, s, timeout_s)
        if got is None:
            log.warning("%s station %d: output list read-back not understood; continuing", link.kind, s)
        elif got != fmt.items:
            raise TrackerConnectionError(f"{link.kind} station {s} reports output list {got}, "
                                         f"expected {fmt.items}", link.name)
    return stations


# ----- Liberty / Patriot ----------------------------------------------------------------------------------
def _parse_station_map(buf: bytes) -> tuple[str, int, int] | None:
    for model, magic in LIBERTY_MAGIC.items():
        i = buf.find(magic)
        while 0 <= i <= len(buf) - 12:
            station, command, error, _r, size = struct.unpack_from("<BBBBH", buf, i + 2)
            if command == 0x15 and error == 0 and size == 4:
                detected, active = struct.unpack_from("<HH", buf, i + 8)
                return model, detected, active
            i = buf.find(magic, i + 1)
    return None


def _liberty_map(link: SerialLink, model: str, timeout_s: float, baud: int) -> tuple[int, int]:
    link.write(_CTRL_U + b"0\r")
    found, data = link.read_until(_parse_station_map, timeout_s, max_len=8192)
    if found is None:
        raise _no_answer(link, "the station-map request ^U0", timeout_s, baud) if not data else \
            _garbage(link, "the station-map request ^U0", data, baud)
    found_model, detected, active = found
    if found_model != model:
        raise TrackerConnectionError(f"found a Polhemus {found_model.capitalize()}, but the driver is set up "
                                     f"for a {model.capitalize()}: choose model='{found_model}'", link.name)
    return detected, active


def _liberty_errors(data: bytes, model: str) -> list[int]:
    """Command codes of error records (header with error byte set and no payload) in ``data``."""
    magic = LIBERTY_MAGIC[model]
    codes, i = [], data.find(magic)
    while 0 <= i <= len(data) - 8:
        _st, command, error, _r, size = struct.unpack_from("<BBBBH", data, i + 2)
        if error and size == 0:
            codes.append(command)
        i = data.find(magic, i + 1)
    return codes


def configure_liberty(link: SerialLink, fmt: RecordFormat, units: str, requested: list[int] | None,
                      timeout_s: float) -> list[int]:
    """Probe, configure and verify a Liberty or Patriot; return the sensors in use."""
    baud = getattr(link.port, "baudrate", 0)
    link.write(b"\rp\r")  # clears a unit stuck streaming (notes §2.2)
    link.drain(quiet_s=0.05, max_s=1.0)
    link.command(b"F1\r")
    link.drain(quiet_s=0.02, max_s=0.5)
    detected, _ = _liberty_map(link, fmt.model, timeout_s, baud)
    present = {s for s in range(1, 17) if detected & (1 << (s - 1))}
    stations = sorted(requested) if requested else sorted(present)
    missing = [s for s in stations if s not in present]
    if not stations or missing:
        raise TrackerConnectionError(f"no sensor in {link.kind} station(s) {missing or 'any'}; "
                                     f"the unit reports stations {sorted(present)}", link.name)
    link.command(b"U1\r" if units == "cm" else b"U0\r")
    for s in sorted(present):
        link.command(_CTRL_U + f"{s},{1 if s in stations else 0}\r".encode())
    link.command(("O*," + ",".join(str(i) for i in fmt.items) + "\r").encode())
    errors = _liberty_errors(link.drain(quiet_s=0.05, max_s=1.0), fmt.model)
    if errors:
        raise TrackerConnectionError(f"the {link.kind} rejected set-up command(s) {[chr(c) for c in errors]}",
                                     link.name)
    _, active = _liberty_map(link, fmt.model, timeout_s, baud)
    wanted = sum(1 << (s - 1) for s in stations)
    if active & detected != wanted:
        raise TrackerConnectionError(f"the {link.kind} did not enable exactly stations {stations} "
                                     f"(active map 0x{active:04X})", link.name)
    return stations
