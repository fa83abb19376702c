"""Command parsers of the emulated units (mixins of :class:`~.device.PolhemusDevice`).

What the emulator answers and why:

FASTRAK (manual rev. G; commands are case sensitive): bare letters ``P`` (one record per active
station), ``C``/``c`` (continuous on/off), ``U``/``u`` (inches/cm), ``F``/``f`` (ASCII/binary), ``S``
(55-byte status record ``2<st>S<hex flags>...``), ^Y (re-initialise), ^S/^Q (XOFF/XON); CR-ended
``O<st>,<items>`` (output list; ``O<st>`` reads it back as ``2<st>O`` + 2-character items, the
InterSense FASTRAK-compatible layout), ``l<st>,<0|1>`` (station off/on; ``l<st>`` reads back
``2<st>l`` + 4 state digits), ``o<baud/100>,N,8,0`` (baud), ``H<st>,x,y,z`` (hemisphere: stored, it
does not change the emulated poses). Anything else gets a command-error record
``2 E*ERROR*<cmd>*ERROR* EC<code>...`` (field order from the manual's table; exact spacing not
confirmed). Power-up: inches, ASCII, not streaming, list ``2,4,1``.

Liberty/Patriot (notes §2.2, polhemus_ros_driver, vrpn; letters are case insensitive): ``P`` stops
streaming and sends one record per active sensor, ``C\\r`` streams, ``F1\\r`` binary, ``U0\\r``/``U1\\r``
inches/cm, ``O<st|*>,<items>\\r``, ^U``<st|*>,<0|1>\\r`` sensor off/on, ^U``0\\r`` station map
(uint16 detected + uint16 active). ASCII output (``F0``) is not emulated (its layout is not in our
sources) and is refused with an error record (header only, error byte 1).

The mixins use the device's state (``stations``, ``units``, ``binary``, ``continuous``, ``baud``,
``_inbuf``) and its ``_all_records``, ``_start_stream`` and ``power_up``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .liberty import encode_liberty_header
from .records import MAX_STATIONS, RecordFormat

__all__ = ["FastrakCommands", "LibertyCommands", "FASTRAK_BAUDS"]

FASTRAK_BAUDS = {12: 1200, 24: 2400, 48: 4800, 96: 9600, 192: 19200, 384: 38400, 576: 57600, 1152: 115200}
_CR, _LF = 0x0D, 0x0A
_CTRL_Y, _CTRL_U, _XON, _XOFF = 0x19, 0x15, 0x11, 0x13


class _LineInput:
    """Shared input buffer handling: CR-terminated lines, overlong junk flushed as one line."""

    _inbuf: bytearray

    if TYPE_CHECKING:  # provided by PolhemusDevice, which mixes the command sets in
        model: str
        stations: dict[int, Any]
        _next_slot_s: float | None

        def power_up(self) -> None: ...
        def active_stations(self) -> list[int]: ...
        def _all_records(self, now_s: float, command: int, frame: int | None = None) -> bytes: ...
        def _start_stream(self, now_s: float) -> None: ...

    def _take_line(self) -> bytes | None:
        end = self._inbuf.find(b"\r")
        if end < 0:
            if len(self._inbuf) > 80:
                line = bytes(self._inbuf)
                self._inbuf.clear()
                return line
            return None
        line = bytes(self._inbuf[:end])
        del self._inbuf[:end + 1]
        return line


class FastrakCommands(_LineInput):
    """FASTRAK letter commands (case sensitive)."""

    def _next_fastrak(self, now_s: float) -> bytes | None:
        c = self._inbuf[0]
        if c in (_CR, _LF):
            del self._inbuf[0]
            return b""
        bare = {ord("P"), ord("C"), ord("c"), ord("U"), ord("u"), ord("F"), ord("f"), ord("S"),
                _CTRL_Y, _XON, _XOFF, ord("D"), ord("d")}
        if c in bare:
            del self._inbuf[0]
            return self._fastrak_bare(chr(c), now_s)
        line = self._take_line()
        if line is None:
            return None
        return self._fastrak_line(line)

    def _fastrak_bare(self, cmd: str, now_s: float) -> bytes:
        if cmd == "P":
            return self._all_records(now_s, ord("P"))
        if cmd == "C":
            self._start_stream(now_s)
        elif cmd == "c":
            self.continuous = False
            self._next_slot_s = None
        elif cmd in "Uu":
            self.units = "inch" if cmd == "U" else "cm"
        elif cmd in "Ff":
            self.binary = cmd == "f"
            for st in self.stations.values():
                st.fmt = RecordFormat("fastrak", st.fmt.items, self.binary)
        elif cmd == "S":
            return self._status_record()
        elif cmd == chr(_CTRL_Y):
            self.power_up()
        elif cmd in (chr(_XON), chr(_XOFF)):
            self.xoff = cmd == chr(_XOFF)
        else:
            return self._fastrak_error(cmd.encode(), -99)
        return b""

    def _status_record(self) -> bytes:
        flags = 0x3F0 | int(self.binary) | int(self.units == "cm") << 1 | int(self.continuous) << 3
        present = sum(1 << (s - 1) for s, st in self.stations.items() if st.present)
        station = (self.active_stations() or [1])[0]
        ident = b"tmsnav FASTRAK emulator".ljust(32)
        return (b"2" + str(station).encode() + b"S" + f"{flags:03X}".encode() + b"   " + b" " + b"F3"
                + f"{present:X}".encode() + b"  " + b"4.00.0" + ident + b"\r\n")

    def _fastrak_error(self, command: bytes, code: int, station: int = 0) -> bytes:
        return (b"2 E*ERROR*" + command + b"*ERROR* EC" + str(code).encode() + b"*PS0*FL0*ST"
                + str(station).encode() + b"\r\n")

    def _fastrak_line(self, line: bytes) -> bytes:
        text = line.decode("ascii", errors="replace")
        cmd, args = text[:1], [a.strip() for a in text[1:].split(",")] if len(text) > 1 else []
        try:
            if cmd in ("O", "l", "H"):
                station = int(args[0])
                if station not in self.stations:
                    return self._fastrak_error(line, -3, max(station - 1, 0))
                st = self.stations[station]
                if cmd == "O":
                    if len(args) == 1:
                        items = b"".join(f"{i:2d}".encode() for i in st.fmt.items)
                        return b"2" + args[0].encode() + b"O" + items + b"\r\n"
                    st.fmt = RecordFormat("fastrak", tuple(int(a) for a in args[1:]), self.binary)
                elif cmd == "l":
                    if len(args) == 1:
                        order = [station] + [s for s in (2, 3, 4)]
                        digits = "".join("1" if self.stations.get(s) and self.stations[s].active else "0"
                                         for s in order)
                        return b"2" + args[0].encode() + b"l" + digits.encode() + b"\r\n"
                    if args[1] not in ("0", "1"):
                        return self._fastrak_error(line, -3, station - 1)
                    st.active = args[1] == "1"
                else:
                    st.hemisphere = (float(args[1]), float(args[2]), float(args[3]))
                return b""
            if cmd == "o":
                rate = FASTRAK_BAUDS.get(int(args[0]))
                if rate is None:
                    return self._fastrak_error(line, -3)
                self.baud = rate  # switches after the command, no reply
                return b""
        except (IndexError, ValueError):
            return self._fastrak_error(line, -1 if len(args) < 2 else -3)
        return self._fastrak_error(line, -99)


class LibertyCommands(_LineInput):
    """Liberty/Patriot commands (letters case insensitive, CR-terminated except P)."""

    def _liberty_error(self, command: int) -> bytes:
        return encode_liberty_header(self.model, 0, command, 1, 0)

    def _next_liberty(self, now_s: float) -> bytes | None:
        c = self._inbuf[0]
        if c in (_CR, _LF):
            del self._inbuf[0]
            return b""
        if c in (ord("P"), ord("p")):
            del self._inbuf[0]
            self.continuous = False
            self._next_slot_s = None
            return self._all_records(now_s, ord("P"))
        if c == _CTRL_Y:
            del self._inbuf[0]
            self.power_up()
            return b""
        line = self._take_line()
        if line is None:
            return None
        return self._liberty_line(line, now_s)

    def _liberty_line(self, line: bytes, now_s: float) -> bytes:
        head = line[:1].upper()
        args = [a.strip() for a in line[1:].decode("ascii", errors="replace").split(",")] if len(line) > 1 else []
        limit = MAX_STATIONS[self.model]
        try:
            if head == b"C" and not args:
                self._start_stream(now_s)
                return b""
            if head == b"F" and args == ["1"]:
                return b""
            if head == b"U" and args in (["0"], ["1"]):
                self.units = "cm" if args[0] == "1" else "inch"
                return b""
            if head == b"O" and len(args) >= 2:
                targets = list(self.stations) if args[0] == "*" else [int(args[0])]
                if any(t not in self.stations for t in targets):
                    return self._liberty_error(line[0])
                fmt = RecordFormat(self.model, tuple(int(a) for a in args[1:]), True)
                for t in targets:
                    self.stations[t].fmt = fmt
                return b""
            if line[:1] == bytes((_CTRL_U,)):
                if args in ([], ["0"], ["*"]):
                    return self._station_map()
                targets = list(self.stations) if args[0] == "*" else [int(args[0])]
                if len(args) != 2 or args[1] not in ("0", "1") or any(not 1 <= t <= limit for t in targets):
                    return self._liberty_error(_CTRL_U)
                for t in targets:
                    if t in self.stations:
                        self.stations[t].active = args[1] == "1"
                return b""
        except ValueError:
            return self._liberty_error(line[0])
        return self._liberty_error(line[0] if line else 0)

    def _station_map(self) -> bytes:
        detected = sum(1 << (s - 1) for s, st in self.stations.items() if st.present)
        active = sum(1 << (s - 1) for s, st in self.stations.items() if st.active)
        payload = detected.to_bytes(2, "little") + active.to_bytes(2, "little")
        return encode_liberty_header(self.model, 0, _CTRL_U, 0, len(payload)) + payload
