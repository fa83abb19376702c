"""NDI Combined API commands and ASCII replies: encoding, parsing and the ERRORxx table.

Framing (NDI Polaris/Aurora API guide; PlusToolkit/ndicapi ``ndiCommandVA``): a command is
``NAME:params`` + 4 upper-case hex CRC-16/ARC of every byte from the first letter to the last
parameter character + CR. The space form ``NAME params`` carries no CRC. Every ASCII reply is
``payload`` + 4-hex CRC of the payload + CR; multi-line replies separate lines with LF.
Used by both the driver (encode) and the emulator (parse), so both ends share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtocolError
from .crc import crc16_arc, crc16_hex

__all__ = [
    "CrcMismatch", "CommandError", "ParsedCommand", "ERROR_MEANINGS", "BAUD_CODES",
    "describe_error", "encode_command", "parse_command", "frame_ascii_reply",
    "parse_ascii_reply", "error_code_of", "comm_parameters", "baud_from_comm_code",
    "OKAY_REPLY", "RESET_REPLY",
]

#: Every ERRORxx code the device can send, with NDI's meaning (ndicapi.h ``#define``s).
ERROR_MEANINGS: dict[int, str] = {
    0x01: "invalid command",
    0x02: "command too long",
    0x03: "command too short",
    0x04: "invalid CRC calculated for the command",
    0x05: "time-out on command execution",
    0x06: "unable to set up the new communication parameters",
    0x07: "incorrect number of command parameters",
    0x08: "invalid port handle selected",
    0x09: "invalid mode selected",
    0x0A: "invalid LED selected",
    0x0B: "invalid LED state selected",
    0x0C: "command is not valid in the current mode",
    0x0D: "no tool is plugged into the selected port",
    0x0E: "the selected port handle is not initialised",
    0x0F: "the selected port handle is not enabled",
    0x10: "the system is not initialised (send INIT first)",
    0x11: "failure to stop tracking",
    0x12: "failure to start tracking",
    0x13: "failure to initialise the tool in the port",
    0x14: "invalid position sensor characterisation parameters",
    0x15: "unable to initialise the system",
    0x16: "failure to start diagnostic mode",
    0x17: "failure to stop diagnostic mode",
    0x19: "failure to read the firmware version",
    0x1A: "internal device error",
    0x1C: "failure to set the marker firing signature",
    0x1E: "failure to read the tool's SROM data",
    0x1F: "failure to write the tool's SROM data",
    0x21: "failure to perform the tool current test",
    0x22: "the enabled tools are not supported by the selected volume parameters",
    0x23: "command parameter out of range",
    0x24: "no camera parameters for this volume",
    0x25: "failure to determine the supported features",
    0x28: "too many tools are enabled, or this tool type is not supported",
    0x2A: "no memory available for dynamic allocation (heap full)",
    0x2B: "the requested port handle has not been allocated",
    0x2C: "the requested port handle has become unoccupied",
    0x2D: "all port handles have been allocated",
    0x2E: "incompatible firmware versions",
    0x2F: "invalid port description",
    0x30: "the requested port already has a port handle",
    0x32: "invalid operation for the device on this port handle",
    0x33: "feature not available",
    0x34: "user parameter does not exist",
    0x35: "invalid value type",
    0x36: "user parameter value out of range",
    0x37: "user parameter array index out of range",
    0x38: "user parameter size is incorrect",
    0x39: "permission denied (read-only, or a monitor-mode connection)",
    0x3B: "file not found",
    0x3C: "error writing to file",
    0x3D: "error reading from file",
    0x40: "tool definition file error (bad CRC or invalid format)",
    0x41: "tool characteristics not supported (markers, faces or groups out of range)",
    0x42: "device not present",
    0xF1: "too much environmental infrared",
    0xF4: "failure to erase the flash EEPROM",
    0xF5: "failure to write the flash EEPROM",
    0xF6: "failure to read the flash EEPROM",
}

#: COMM baud-rate digit for each supported rate (0x0A is sent as the letter 'A').
BAUD_CODES: dict[int, str] = {
    9600: "0", 14400: "1", 19200: "2", 38400: "3", 57600: "4",
    115200: "5", 921600: "6", 1228739: "7", 230400: "A",
}

OKAY_REPLY = b"OKAYA896\r"
RESET_REPLY = b"RESETBE6F\r"


class CrcMismatch(ProtocolError):
    """A reply (or command) whose CRC does not match its bytes: never use its content."""


class CommandError(Exception):
    """The emulator's verdict on a command: answer ``ERRORxx`` with this code."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or describe_error(code))
        self.code = code


def describe_error(code: int) -> str:
    """NDI's meaning of an ERRORxx code, in words."""
    return ERROR_MEANINGS.get(code, f"unknown NDI error code 0x{code:02X} (reserved)")


def encode_command(name: str, params: str = "", *, with_crc: bool = True) -> bytes:
    """``encode_command("INIT")`` -> ``b"INIT:E3A5\\r"``; ``with_crc=False``: ``NAME params``."""
    if not name.isalnum():
        raise ValueError(f"NDI command names are letters and digits, got {name!r}")
    if with_crc:
        text = f"{name}:{params}"
        return f"{text}{crc16_hex(text)}\r".encode("ascii")
    return (f"{name} {params}" if params else name).encode("ascii") + b"\r"


@dataclass(frozen=True)
class ParsedCommand:
    """A command as the device received it: upper-case name, raw parameter text, CRC form."""

    name: str
    params: str
    had_crc: bool


def parse_command(line: bytes) -> ParsedCommand:
    """Parse one command line (without its CR) the way the device does.

    Raises :class:`CommandError` 0x04 for a missing or wrong CRC in the colon form, 0x01 for
    bytes that are not a command at all.
    """
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CommandError(0x01, "non-ASCII bytes in command") from exc
    text = text.strip("\n")
    for i, ch in enumerate(text):
        if not ch.isalnum():
            break
    else:
        i = len(text)
    name = text[:i]
    if not name:
        raise CommandError(0x01, f"no command name in {text!r}")
    if i < len(text) and text[i] == ":":
        rest = text[i + 1:]
        if len(rest) < 4:
            raise CommandError(0x04, "colon form without a 4-digit CRC")
        body, crc_text = text[:-4], rest[-4:]
        try:
            crc_value = int(crc_text, 16)
        except ValueError as exc:
            raise CommandError(0x04, f"CRC field {crc_text!r} is not hex") from exc
        if crc16_arc(body) != crc_value:
            raise CommandError(0x04, "CRC does not match the command bytes")
        return ParsedCommand(name.upper(), rest[:-4], True)
    if i < len(text) and text[i] != " ":
        raise CommandError(0x01, f"unexpected character {text[i]!r} after the command name")
    return ParsedCommand(name.upper(), text[i + 1:], False)


def frame_ascii_reply(payload: str | bytes) -> bytes:
    """``payload`` + CRC4 + CR, e.g. ``frame_ascii_reply("OKAY")`` -> ``b"OKAYA896\\r"``."""
    data = payload.encode("ascii") if isinstance(payload, str) else bytes(payload)
    return data + crc16_hex(data).encode("ascii") + b"\r"


def parse_ascii_reply(raw: bytes) -> str:
    """Validate one ASCII reply (with or without its CR) and return the payload text.

    Raises :class:`CrcMismatch` when the CRC does not match and :class:`ProtocolError` when the
    bytes are too short or not ASCII.
    """
    data = raw[:-1] if raw.endswith(b"\r") else raw
    if len(data) < 4:
        raise ProtocolError(f"reply too short to carry a CRC: {bytes(raw)!r}")
    payload, crc_field = data[:-4], data[-4:]
    try:
        expected = int(crc_field.decode("ascii"), 16)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CrcMismatch(f"reply CRC field {bytes(crc_field)!r} is not hex") from exc
    actual = crc16_arc(payload)
    if actual != expected:
        raise CrcMismatch(f"reply CRC mismatch: sent {expected:04X}, computed {actual:04X}")
    try:
        return payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("reply payload is not ASCII") from exc


def error_code_of(payload: str) -> int | None:
    """The xx of an ``ERRORxx`` payload, or None when the payload is not an error."""
    if payload.startswith("ERROR") and len(payload) >= 7:
        try:
            return int(payload[5:7], 16)
        except ValueError:
            return None
    return None


def comm_parameters(baud: int, *, handshake: bool = False) -> str:
    """The 5 COMM digits for ``baud`` 8N1: ``comm_parameters(115200)`` -> ``"50000"``."""
    if baud not in BAUD_CODES:
        rates = ", ".join(str(b) for b in sorted(BAUD_CODES))
        raise ValueError(f"NDI devices do not support {baud} baud; choose one of {rates}")
    return f"{BAUD_CODES[baud]}000{1 if handshake else 0}"


def baud_from_comm_code(code: str) -> int:
    """Inverse of the baud digit of COMM (``"5"`` -> 115200)."""
    for baud, digit in BAUD_CODES.items():
        if digit == code.upper():
            return baud
    raise ValueError(f"unknown COMM baud code {code!r}")
