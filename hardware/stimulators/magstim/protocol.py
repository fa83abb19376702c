"""The Magstim 200², BiStim² and Rapid² remote-control protocol: frames, checksum, replies.

Source: Magstim's host-interface bulletin for alternate controllers, as quoted by several
independent open host libraries that agree on the facts used here (MagPy: N. A. McNair, J Neurosci
Methods 276:33, 2017; the MAGIC toolbox: Saatlou et al., Brain Stimulation 11:1189, 2018). Nothing
in this module was checked on a physical unit. Where they are silent (the exact ``ND`` and ``x@``
reply layouts) the choice made is stated at the function and in docs/treatment.md.

Framing (RS-232, 9600 bps, 8N1, no flow control): one ASCII command character, its data
characters, then one checksum byte. There is no delimiter and no length byte: both sides know the
length of every command and reply from its first character. A reply echoes the command character,
carries the instrument status byte and the data, and ends with its own checksum. Three error
replies exist: ``?`` alone (invalid command), ``<cmd>?<crc>`` (invalid data) and
``<cmd>S<crc>`` (valid but not allowed in the unit's current state).

Checksum: the sum of every preceding byte, low 8 bits, inverted: ``~sum(frame) & 0xFF``.
The worked examples of the bulletin (``Q@n``, ``J@u``, ``@050*``, ``EBx`` ...) are pinned by
tests/hardware/stimulators/test_magstim_protocol.py.

This module is pure (no I/O) and shared by :mod:`.driver` (the host) and :mod:`.unit` (the
emulated stimulator), so both speak exactly the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar, cast

from ..base import StimulatorError

__all__ = ["MODELS", "checksum", "frame", "frame_ok", "InstrumentStatus", "RapidStatus",
           "RapidParameters", "MagstimReplyError", "ENABLE_REMOTE", "DISABLE_REMOTE",
           "READ_PARAMETERS", "ARM", "DISARM", "FIRE", "TEMPERATURE", "RAPID_PARAMETERS",
           "VERSION", "ERROR_CODE", "SYSTEM_STATUS", "ENHANCED_ON", "ENHANCED_OFF",
           "enable_remote_body", "set_power_body", "digits", "rapid_widths", "reply_length",
           "parse_parameters", "parse_temperature", "parse_rapid_parameters", "parse_version",
           "error_reply_meaning"]

#: model key -> name shown to the user
MODELS = {"200": "Magstim 200²", "bistim": "Magstim BiStim²", "rapid": "Magstim Rapid²"}

ENABLE_REMOTE = b"Q@"
DISABLE_REMOTE = b"R@"
READ_PARAMETERS = b"J@"       # 200² / BiStim²: status, power A, power B, paired-pulse offset
ARM = b"EB"
DISARM = b"EA"
FIRE = b"EH"
TEMPERATURE = b"F@"           # two coil-winding temperatures in 0.1 degC
RAPID_PARAMETERS = b"\\@"     # Rapid²: status, rTMS status, power, frequency, pulses, duration, wait
VERSION = b"ND"               # Rapid²: software version, NUL-terminated
ERROR_CODE = b"I@"            # Rapid²: current error code
SYSTEM_STATUS = b"x@"         # Rapid² v9+: extended system status
ENHANCED_ON = b"^@"           # Rapid²: enhanced power mode (up to 110 %)
ENHANCED_OFF = b"_@"

STANDBY, ARMED, READY, COIL_PRESENT, REPLACE_COIL, ERROR_PRESENT, ERROR_FATAL, REMOTE = \
    (1 << i for i in range(8))


def checksum(data: bytes) -> int:
    """The bulletin's checksum: invert the low 8 bits of the byte sum."""
    return (~sum(data)) & 0xFF


def frame(body: bytes) -> bytes:
    """``body`` (command character + data) followed by its checksum byte."""
    return bytes(body) + bytes([checksum(body)])


def frame_ok(data: bytes) -> bool:
    """True when the last byte of ``data`` is the checksum of the bytes before it."""
    return len(data) >= 2 and data[-1] == checksum(data[:-1])


def digits(value: int, width: int) -> bytes:
    """``value`` as ``width`` ASCII digits (ValueError when it does not fit or is negative)."""
    if not 0 <= int(value) < 10 ** width:
        raise ValueError(f"{value} does not fit in {width} digits")
    return str(int(value)).zfill(width).encode("ascii")


def enable_remote_body(unlock_code: str | None = None) -> bytes:
    """``Q@``, or ``Q`` + the unit's unlock code (Rapid² software v9 and later)."""
    if not unlock_code:
        return ENABLE_REMOTE
    code = unlock_code.encode("ascii")
    if not code.isalnum():
        raise ValueError("a Magstim unlock code is letters and digits only")
    return b"Q" + code


def set_power_body(percent: int, output: str = "A") -> bytes:
    """``@nnn`` sets output A (BiStim² ``Annn`` output B); 3 digits, 000-110."""
    command = {"A": b"@", "B": b"A"}[output]
    return command + digits(percent, 3)


def rapid_widths(version: tuple[int, int, int]) -> dict[str, int]:
    """Digit widths of the Rapid² train parameters, which grew with software version 9
    (pulses 4 -> 5 digits, duration 3 -> 4) and 7 (wait time 3 -> 4)."""
    v9 = version >= (9, 0, 0)
    return {"power": 3, "frequency": 4, "pulses": 5 if v9 else 4, "duration": 4 if v9 else 3,
            "wait": 4 if version >= (7, 0, 0) else 3}


def reply_length(body: bytes, model: str, version: tuple[int, int, int] = (9, 0, 0)) -> int | None:
    """Length in bytes of the normal reply to ``body`` (None: NUL-terminated, then checksum)."""
    c = body[:1]
    if c == b"J":
        return 12
    if c == b"F":
        return 9
    if c == b"\\":
        return 4 + sum(rapid_widths(version).values())
    if c == b"N":
        return None
    if c == b"I":
        return 6
    if c == b"x":
        return 6
    if model == "rapid" and c in (b"@", b"B", b"D", b"[", b"^", b"_"):
        return 4                     # echo, instrument status, rTMS status, checksum
    return 3                         # echo, instrument status, checksum


_Flags = TypeVar("_Flags", bound="_FlagByte")


class _FlagByte:
    """A status byte as eight booleans, bit 0 first: the dataclass's fields in bit order."""

    @classmethod
    def from_byte(cls: type[_Flags], value: int) -> _Flags:
        flags: list[Any] = [bool(value >> i & 1) for i in range(8)]
        return cls(*flags)

    def to_byte(self) -> int:
        return sum(1 << i for i, f in enumerate(fields(cast(Any, self))) if getattr(self, f.name))


@dataclass(frozen=True)
class InstrumentStatus(_FlagByte):
    """The instrument status byte every reply carries (bit 0 standby ... bit 7 remote)."""

    standby: bool = True
    armed: bool = False
    ready: bool = False
    coil_present: bool = True
    replace_coil: bool = False
    error_present: bool = False
    error_fatal: bool = False
    remote: bool = False

    def fault(self) -> str | None:
        """The fault in words, or None."""
        if self.error_present:
            return "the Magstim reports a fatal error" if self.error_fatal \
                else "the Magstim reports an error"
        if self.replace_coil:
            return "the Magstim asks to replace the coil"
        if not self.coil_present:
            return "no coil connected to the Magstim"
        return None


@dataclass(frozen=True)
class RapidStatus(_FlagByte):
    """The Rapid² rTMS status byte (second byte of Rapid² parameter replies)."""

    enhanced_power: bool = False
    train: bool = False
    wait: bool = False
    single_pulse_mode: bool = True
    hv_psu_connected: bool = True
    coil_ready: bool = True
    theta_psu_detected: bool = False
    modified_coil_algorithm: bool = False


@dataclass(frozen=True)
class RapidParameters:
    """Rapid² train parameters as the unit reports them (SI units: Hz, s)."""

    power_pct: int
    frequency_hz: float
    n_pulses: int
    duration_s: float
    wait_s: float
    rapid: RapidStatus


class MagstimReplyError(StimulatorError):
    """A reply that is not the expected one: wrong echo, bad checksum, non-digits, wrong length."""


def error_reply_meaning(reply: bytes) -> str | None:
    """What an error reply means, or None when ``reply`` is not an error reply."""
    if reply == b"?":
        return "the unit does not know the command"
    if len(reply) == 3 and reply[1:2] == b"?":
        return "the unit refused the command's data (out of range)"
    if len(reply) == 3 and reply[1:2] == b"S":
        return "the command is not allowed in the unit's current state"
    return None


def _checked(reply: bytes, echo: bytes, length: int) -> bytes:
    if len(reply) != length:
        raise MagstimReplyError(f"reply to {echo.decode('latin-1')!r} has {len(reply)} bytes, "
                                f"expected {length}")
    if reply[:1] != echo:
        raise MagstimReplyError(f"reply {reply!r} does not echo {echo!r}")
    if not frame_ok(reply):
        raise MagstimReplyError(f"reply {reply!r} fails its checksum")
    return reply


def _number(field: bytes, what: str) -> int:
    if not field.isdigit():
        raise MagstimReplyError(f"{what} {field!r} is not digits")
    return int(field)


def parse_parameters(reply: bytes) -> tuple[InstrumentStatus, int, int, int]:
    """``J@`` reply -> (status, power A %, power B %, paired-pulse offset); B and offset read
    0 on a 200²."""
    r = _checked(reply, b"J", 12)
    return (InstrumentStatus.from_byte(r[1]), _number(r[2:5], "power A"),
            _number(r[5:8], "power B"), _number(r[8:11], "paired-pulse offset"))


def parse_temperature(reply: bytes) -> tuple[InstrumentStatus, float, float]:
    """``F@`` reply -> (status, winding 1 degC, winding 2 degC); the unit sends 0.1 degC steps."""
    r = _checked(reply, b"F", 9)
    return (InstrumentStatus.from_byte(r[1]), _number(r[2:5], "coil temperature") / 10.0,
            _number(r[5:8], "coil temperature") / 10.0)


def parse_rapid_parameters(reply: bytes, version: tuple[int, int, int]
                           ) -> tuple[InstrumentStatus, RapidParameters]:
    """``\\@`` reply of a Rapid² with software ``version`` -> (status, parameters)."""
    widths = rapid_widths(version)
    r = _checked(reply, b"\\", 4 + sum(widths.values()))
    values, at = {}, 3
    for name, width in widths.items():
        values[name] = _number(r[at:at + width], f"Rapid² {name}")
        at += width
    return InstrumentStatus.from_byte(r[1]), RapidParameters(
        values["power"], values["frequency"] / 10.0, values["pulses"], values["duration"] / 10.0,
        values["wait"] / 10.0, RapidStatus.from_byte(r[2]))


def parse_version(reply: bytes) -> tuple[int, int, int]:
    """``ND`` reply (``N`` + ``major.minor.patch`` + NUL + checksum) -> (major, minor, patch)."""
    if reply[:1] != b"N" or len(reply) < 4 or reply[-2:-1] != b"\x00" or not frame_ok(reply):
        raise MagstimReplyError(f"malformed version reply {reply!r}")
    parts = reply[1:-2].decode("ascii", "replace").split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise MagstimReplyError(f"malformed version {reply[1:-2]!r}")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]
