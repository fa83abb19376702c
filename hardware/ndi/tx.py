"""TX text tracking reply: encode (emulator) and decode (driver).

Layout (NDI API guide; ndicapi ``ndiTXHelper``): 2-hex handle count; per handle 2-hex handle, then
a 51-character transform (q0 qx qy qz as sign + 5 digits x 1e-4, tx ty tz as sign + 6 digits
x 1e-2 mm, RMS as sign + 5 digits x 1e-4 mm) or ``MISSING`` / ``DISABLED`` / ``UNOCCUPIED``; a
transform or MISSING is followed by 8-hex port status and 8-hex frame number; every handle record
ends with LF. [Option 1000: 2-hex stray count, ceil(n/4) hex out-of-volume digits, 21 characters
per marker.] Then 4-hex system status, 4-hex CRC, CR. TX never contains an inner CR.
The resolution is 1e-4 for rotation and 0.01 mm for position: TX is coarser than BX.
"""

from __future__ import annotations

from ..errors import ProtocolError
from .commands import frame_ascii_reply, parse_ascii_reply
from .replies import (REPLY_PASSIVE_STRAY, HandleReport, HandleState, StrayMarker,
                      TrackingFrame, check_reply_options)

__all__ = ["encode_tx", "decode_tx", "decode_tx_payload", "format_transform", "parse_transform"]

_WORDS = {HandleState.MISSING: "MISSING", HandleState.DISABLED: "DISABLED",
          HandleState.UNOCCUPIED: "UNOCCUPIED"}


def _signed(value: float, scale: float, digits: int, what: str) -> str:
    number = round(value * scale)
    if abs(number) >= 10 ** digits:
        raise ValueError(f"{what} {value} does not fit the TX field (±{digits} digits)")
    return f"{'-' if number < 0 else '+'}{abs(number):0{digits}d}"


def format_transform(quaternion: tuple[float, float, float, float],
                     translation_mm: tuple[float, float, float], rms_mm: float) -> str:
    """The 51-character TX transform field."""
    parts = [_signed(q, 1e4, 5, "quaternion component") for q in quaternion]
    parts += [_signed(t, 1e2, 6, "translation (mm)") for t in translation_mm]
    parts.append(_signed(rms_mm, 1e4, 5, "RMS error (mm)"))
    return "".join(parts)


def _number(text: str, scale: float) -> float:
    if len(text) < 2 or text[0] not in "+-" or not text[1:].isdigit():
        raise ProtocolError(f"TX number field {text!r} is not sign + digits")
    return int(text) / scale


def parse_transform(field: str) -> tuple[tuple[float, float, float, float],
                                         tuple[float, float, float], float]:
    """(quaternion, translation_mm, rms_mm) from a 51-character TX transform field."""
    if len(field) != 51:
        raise ProtocolError(f"TX transform field must be 51 characters, got {len(field)}")
    q = tuple(_number(field[i:i + 6], 1e4) for i in (0, 6, 12, 18))
    t = tuple(_number(field[i:i + 7], 1e2) for i in (24, 31, 38))
    return q, t, _number(field[45:51], 1e4)  # type: ignore[return-value]


def encode_tx(frame: TrackingFrame, *, options: int = 0x0801) -> bytes:
    """Bytes of a whole TX reply (payload, CRC, CR) for ``frame``."""
    check_reply_options(options)
    out = [f"{len(frame.handles):02X}"]
    for report in frame.handles:
        out.append(f"{report.handle:02X}")
        if report.state is HandleState.VALID:
            q, t, rms = report.quaternion, report.translation_mm, report.rms_mm
            if q is None or t is None or rms is None:
                raise ValueError(f"handle {report.handle:02X}: a VALID report needs a pose and its RMS")
            out.append(format_transform(q, t, rms))
        else:
            out.append(_WORDS[report.state])
        if report.state in (HandleState.VALID, HandleState.MISSING):
            if report.port_status is None or report.frame_number is None:
                raise ValueError(f"handle {report.handle:02X}: TX needs a port status and a frame number")
            out.append(f"{report.port_status & 0xFFFFFFFF:08X}"
                       f"{report.frame_number & 0xFFFFFFFF:08X}")
        out.append("\n")
    if options & REPLY_PASSIVE_STRAY:
        strays = frame.strays
        if len(strays) > 255:
            raise ValueError("TX can report at most 255 stray markers")
        out.append(f"{len(strays):02X}")
        n_digits = (len(strays) + 3) // 4
        if n_digits:
            bits = sum(1 << i for i, m in enumerate(strays) if m.out_of_volume)
            out.append(f"{bits:0{n_digits}X}")
        for marker in strays:
            out.extend(_signed(v, 1e2, 6, "stray marker position (mm)") for v in marker.position_mm)
    out.append(f"{frame.system_status & 0xFFFF:04X}")
    return frame_ascii_reply("".join(out))


def decode_tx(reply: bytes, *, options: int = 0x0801) -> TrackingFrame:
    """Check the CRC of a whole TX reply and decode it (CrcMismatch / ProtocolError on failure)."""
    return decode_tx_payload(parse_ascii_reply(reply), options=options)


_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")


def _hex(text: str, what: str) -> int:
    if not text or not _HEX_DIGITS.issuperset(text):
        raise ProtocolError(f"TX {what} {text!r} is not hex")
    return int(text, 16)


def decode_tx_payload(payload: str, *, options: int = 0x0801) -> TrackingFrame:
    """Decode a TX payload (CRC already checked and removed)."""
    check_reply_options(options)
    count = _hex(payload[:2], "handle count")
    pos = 2
    handles = []
    for _ in range(count):
        handle = _hex(payload[pos:pos + 2], "port handle")
        pos += 2
        state = HandleState.VALID
        for candidate, word in _WORDS.items():
            if payload.startswith(word, pos):
                state = candidate
                pos += len(word)
                break
        quaternion = translation = rms = None
        if state is HandleState.VALID:
            quaternion, translation, rms = parse_transform(payload[pos:pos + 51])
            pos += 51
        port_status = frame_number = None
        has_status = state in (HandleState.VALID, HandleState.MISSING)
        if has_status or (pos < len(payload) and payload[pos] != "\n"):
            port_status = _hex(payload[pos:pos + 8], "port status")
            frame_number = _hex(payload[pos + 8:pos + 16], "frame number")
            if len(payload) < pos + 16:
                raise ProtocolError("TX reply ends inside a handle record")
            pos += 16
        if payload[pos:pos + 1] != "\n":
            raise ProtocolError(f"TX handle {handle:02X} record does not end with LF")
        pos += 1
        handles.append(HandleReport(handle, state, quaternion, translation, rms,
                                    port_status, frame_number))
    strays = []
    if options & REPLY_PASSIVE_STRAY:
        n = _hex(payload[pos:pos + 2], "stray count")
        pos += 2
        n_digits = (n + 3) // 4
        bits = _hex(payload[pos:pos + n_digits], "stray out-of-volume bits") if n_digits else 0
        pos += n_digits
        for i in range(n):
            xyz = tuple(_number(payload[pos + 7 * k:pos + 7 * k + 7], 1e2) for k in range(3))
            strays.append(StrayMarker(xyz, bool(bits >> i & 1)))  # type: ignore[arg-type]
            pos += 21
    if len(payload) != pos + 4:
        raise ProtocolError(f"TX reply has {len(payload) - pos} characters where the 4-hex "
                            f"system status should end it")
    return TrackingFrame(tuple(handles), _hex(payload[pos:], "system status"), tuple(strays))
