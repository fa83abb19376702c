"""The set-up steps of an NDI session, in the order working hosts send them.

Reset by serial break (skipped on a socket) -> ``INIT:`` -> ``COMM:`` -> ``VER:0`` -> ``PHSR:01``
/``PHF`` -> ``PHRQ`` + 16 ``PVWR`` per ROM -> ``PHSR:02``/``PINIT`` -> ``PHSR:03``/``PENA:hhD``
-> ``PHSR:04``. Sources: PlusToolkit/ndicapi (``ndiSerialProbe``, ``ndiCOMMHelper``,
``ndiPVWRFromFile``), scikit-surgerynditracker; notes §1.2-1.4. Each failure becomes an error a
user can act on (wrong port, wrong device, baud switch refused, ROM rejected).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import DeviceError, ProtocolError, ToolDefinitionError
from .channel import CommandChannel, NoReply
from .commands import RESET_REPLY, comm_parameters
from .replies import decode_phsr
from .rom import upload_chunks
from .transport import SerialLink, connection_error

__all__ = ["reset_and_initialise", "change_baud", "read_version", "free_stale_handles",
           "upload_rom", "initialise_and_enable", "part_number"]

_SETTLE_S = 0.1     # ndicapi waits 100 ms after INIT and after COMM on real hardware


def reset_and_initialise(link: SerialLink, channel: CommandChannel,
                         reset_timeout_s: float) -> None:
    """Break (serial only), then ``INIT:``; TrackerConnectionError names the port on failure."""
    reset_text = b""
    if not link.is_socket:
        link.flush_input()
        link.send_break()
        reset_text = channel.wait_for_text(reset_timeout_s)
    try:
        channel.command("INIT", retries=0)
    except DeviceError as err:
        if err.code != 0x0C:        # 0x0C: still tracking from an earlier session (TCP)
            raise
        channel.command("TSTOP")
        channel.command("INIT")
    except NoReply:
        raise connection_error(_no_answer_text(link, reset_text), link.port) from None
    except ProtocolError:
        raise connection_error(
            f"the device on {link.port} answers INIT with bytes that are not NDI replies: it is "
            f"not an NDI tracker, or it runs at another baud rate (power-cycle it to get back to "
            f"9600 baud)", link.port) from None
    if not (link.is_pty or link.is_socket):
        time.sleep(_SETTLE_S)


def _no_answer_text(link: SerialLink, reset_text: bytes) -> str:
    if link.is_socket:
        return (f"no NDI device answered INIT on {link.port} — is the tracker switched on, and "
                f"are its address and port right (a Vega listens on 8765)?")
    text = (f"no NDI device answered INIT at 9600 baud on {link.port} — is it switched on, is "
            f"this the right port?")
    if reset_text and not reset_text.startswith(RESET_REPLY[:8]):
        text += f" (after the serial break it sent {reset_text[:24]!r}, not RESET)"
    elif not reset_text:
        text += " (it did not answer the serial break either)"
    return text


def change_baud(link: SerialLink, channel: CommandChannel, baud: int) -> bool:
    """``COMM:`` to ``baud`` (answered at the old rate), then switch the host. True if changed."""
    if link.is_socket or baud == link.baud:
        return False
    channel.command("COMM", comm_parameters(baud))
    if not link.is_pty:
        time.sleep(_SETTLE_S)
    link.set_baud(baud)
    return True


def read_version(link: SerialLink, channel: CommandChannel,
                 after_baud_change: bool) -> tuple[str, str | None]:
    """``VER:0`` text and its ``Freeze Tag:`` value (the first command at a new baud rate)."""
    try:
        text = channel.command("VER", "0")
    except NoReply:
        if not after_baud_change:
            raise
        raise connection_error(
            f"the NDI device on {link.port} accepted {link.baud} baud but stopped answering after "
            f"the switch: try a lower baud rate or a USB adapter that supports {link.baud}",
            link.port) from None
    tag = next((line.split(":", 1)[1].strip() for line in text.split("\n")
                if line.startswith("Freeze Tag:")), None)
    return text, tag


def free_stale_handles(channel: CommandChannel) -> None:
    """Free the handles the device wants freed (``PHSR:01``), e.g. left by an earlier session."""
    for handle, _ in decode_phsr(channel.command("PHSR", "01")):
        channel.command("PHF", f"{handle:02X}")


def _rejected(name: str, path: Path | None, meaning: str) -> ToolDefinitionError:
    return ToolDefinitionError(f"the NDI device rejected the tool definition '{name}' "
                               f"({path}): {meaning}")


def _free_quietly(channel: CommandChannel, handle: int) -> None:
    try:
        channel.command("PHF", f"{handle:02X}", retries=0)
    except (DeviceError, NoReply, ProtocolError):
        pass


def upload_rom(channel: CommandChannel, name: str, data: bytes, path: Path | None) -> int:
    """``PHRQ`` a passive-tool handle and write the ROM in 16 ``PVWR`` chunks; the new handle."""
    payload = channel.command("PHRQ", "*********1****", retries=0)
    try:
        handle = int(payload[:2], 16)
    except ValueError:
        raise ProtocolError(f"PHRQ answered {payload!r} instead of a port handle") from None
    try:
        for address, chunk in upload_chunks(data):
            channel.command("PVWR", f"{handle:02X}{address:04X}{chunk}")
    except DeviceError as err:
        _free_quietly(channel, handle)
        raise _rejected(name, path, err.meaning) from None
    return handle


def initialise_and_enable(channel: CommandChannel,
                          rom_handles: dict[int, tuple[str, Path | None]]) -> list[int]:
    """PINIT every occupied handle, PENA (dynamic) every initialised one; the enabled handles.

    A PINIT refused for a ROM we uploaded is that ROM's fault: it becomes ToolDefinitionError.
    """
    for _ in range(4):      # Aurora: initialising a port can make new handles appear
        pending = decode_phsr(channel.command("PHSR", "02"))
        if not pending:
            break
        for handle, _ in pending:
            try:
                channel.command("PINIT", f"{handle:02X}")
            except DeviceError as err:
                if handle not in rom_handles:
                    raise
                name, path = rom_handles.pop(handle)
                _free_quietly(channel, handle)
                raise _rejected(name, path, err.meaning) from None
    for handle, _ in decode_phsr(channel.command("PHSR", "03")):
        channel.command("PENA", f"{handle:02X}D")
    return [handle for handle, _ in decode_phsr(channel.command("PHSR", "04"))]


def part_number(channel: CommandChannel, handle: int) -> str:
    """The tool's part number (``PHINF:hh0004``), or "" when the device has none to give."""
    try:
        return channel.command("PHINF", f"{handle:02X}0004").strip()
    except DeviceError:
        return ""

