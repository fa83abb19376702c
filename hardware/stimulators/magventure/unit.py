"""The emulated MagPro itself: what it answers, what it pushes, driven by an explicit clock.

Pure state machine, no I/O: :meth:`MagProUnit.receive` takes host bytes and returns the unit's
bytes; the front-panel methods (turning the amplitude knob, the foot pedal, the enable key, the MEP
page) return the frames the unit pushes unsolicited. :mod:`.emulator` puts it on a pty or socket.

Behaviour follows the protocol description quoted in :mod:`.messages` (not a physical unit):

* get status / status 2 / mode are answered with the same id;
* set amplitude and a turn of the knob push id 1 with both amplitudes; enable/disable (command or
  key) push id 3 with coil temperature and type; every delivered pulse pushes id 2 with the
  realised dI/dt; a page change or train start/stop pushes id 8; the MEP page pushes id 4;
* a pulse is delivered only when enabled and recharged (``recharge_s`` after the last pulse on the
  unit's clock); a fire command otherwise does nothing, as on the unit;
* realised dI/dt = ``didt_per_pct`` x amplitude (a coil-dependent slope: an MCF-B65 reaches about
  150 A/us at 100 %), rounded, optionally with +-``didt_jitter`` A/us;
* with ``mep_after_pulse`` (a simulated muscle), each pulse is followed by its MEP (message 4);
* a syntactically framed command whose id, length or CRC is wrong makes the unit stop answering
  until :meth:`restart` (``hang_on_malformed``), as hosts report real units doing; bytes outside
  any frame are ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import messages as m
from .framing import END, MAX_PAYLOAD, START, crc8_maxim, encode_frame

__all__ = ["MagProUnit", "ReceivedCommand"]


@dataclass(frozen=True)
class ReceivedCommand:
    """One command the unit took from the host (for tests: what did the host send?)."""

    time_s: float
    payload: bytes

    @property
    def id(self) -> int:
        return self.payload[0]


@dataclass
class MagProUnit:
    """A MagPro R30/X100. All times are seconds on ``clock`` (default: ``time.monotonic``)."""

    model: int = 0                      # index into messages.MODELS (0 = R30)
    serial_number: int = 0x0A1B2C
    coil_type: int = 60                 # the unit's coil code (opaque number)
    coil_temperature_c: int = 24
    amplitude_a: int = 0
    amplitude_b: int = 0
    mode: int = 0                       # Standard
    waveform: int = 1                   # Biphasic
    enabled: bool = False
    page: int = 1                       # Main
    didt_per_pct: float = 1.5
    didt_jitter: int = 0
    recharge_s: float = 0.0
    amplitude_limit: int = 100          # the unit clamps amplitudes to this (e.g. a coil's limit)
    hang_on_malformed: bool = True
    clock: Callable[[], float] = time.monotonic
    seed: int = 0
    received: list[ReceivedCommand] = field(default_factory=list)
    hung: bool = False
    pulses: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _last_pulse_s: float | None = None
    _train: list[float] = field(default_factory=list)   # due times of pending train pulses
    train_pulses: int = 5
    train_rate_hz: float = 10.0
    #: optional muscle: amplitude A (%) of a delivered pulse -> (max uV, min uV, time of max us) of
    #: the MEP the unit's MEP page measures, pushed as message 4 right after the pulse (None: no MEP)
    mep_after_pulse: Callable[[int], tuple[int, int, int] | None] | None = None

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    # ----- state as messages ----------------------------------------------------------------------
    def status_byte(self) -> m.StatusByte:
        return m.StatusByte(self.mode, self.waveform, self.enabled, self.model)

    def status(self) -> m.MagProStatus:
        return m.MagProStatus(self.status_byte(), self.serial_number, self.coil_temperature_c, self.coil_type,
                              self.amplitude_a, self.amplitude_b)

    def _frame(self, msg: object) -> bytes:
        return encode_frame(msg.encode())  # type: ignore[attr-defined]

    # ----- host bytes in, unit bytes out -----------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return what the unit sends back (replies and pushes)."""
        self._buf += data
        out = bytearray()
        while True:
            i = self._buf.find(START)
            if i < 0:
                self._buf.clear()
                break
            del self._buf[:i]
            if len(self._buf) < 2:
                break
            n = self._buf[1]
            if n < 1 or n > MAX_PAYLOAD:
                self._malformed()
                del self._buf[:1]
                continue
            if len(self._buf) < n + 4:
                break
            frame = bytes(self._buf[:n + 4])
            payload = frame[2:2 + n]
            if frame[-1] != END or crc8_maxim(payload) != frame[2 + n]:
                self._malformed()
                del self._buf[:1]
                continue
            del self._buf[:n + 4]
            out += self._command(payload)
        return bytes(out)

    def has_command(self, data: bytes) -> bool:
        """Whether ``data`` (with what is buffered) completes at least one frame."""
        buf = self._buf + data
        i = buf.find(START)
        if i < 0 or i + 1 >= len(buf):
            return False
        return len(buf) >= i + buf[i + 1] + 4

    def _malformed(self) -> None:
        if self.hang_on_malformed:
            self.hung = True

    def _command(self, p: bytes) -> bytes:
        if self.hung:
            return b""
        if p[0] not in m.COMMAND_LENGTHS or len(p) not in m.COMMAND_LENGTHS[p[0]]:
            self._malformed()
            return b""
        self.received.append(ReceivedCommand(self.clock(), p))
        cid = p[0]
        if cid == m.GET_STATUS:
            return self._frame(self.status())
        if cid == m.GET_STATUS2:
            return self._frame(m.MagProStatus2(self.status(), self.amplitude_a, self.amplitude_b, 100, 100, self.page,
                                               bool(self._train)))
        if cid == m.GET_MODE:
            return self._frame(m.ModeInfo(self.model, self.mode, 0, self.waveform, 0, 0, 0)) if p[1] == 0 else b""
        if cid == m.SET_AMPLITUDE:
            if any(v > 100 for v in p[1:]):
                self._malformed()
                return b""
            return self.turn_amplitude(p[1], p[2] if len(p) == 3 else None)
        if cid == m.SET_ENABLED:
            return self.press_enable(bool(p[1]))
        if cid == m.FIRE:
            return self._pulse()
        if cid == m.START_TRAIN:
            return self.start_train()
        if cid == m.SET_PAGE:
            return self.set_page(p[1])
        return b""

    # ----- front panel and body (each returns the frames the unit pushes) ----------------------------------
    def turn_amplitude(self, a_pct: int, b_pct: int | None = None) -> bytes:
        """The amplitude knob (or a set-amplitude command): clamps to ``amplitude_limit``, pushes id 1."""
        self.amplitude_a = min(int(a_pct), self.amplitude_limit)
        if b_pct is not None:
            self.amplitude_b = min(int(b_pct), self.amplitude_limit)
        return self._frame(m.AmplitudeChanged(self.amplitude_a, self.amplitude_b, self.status_byte()))

    def press_enable(self, enabled: bool) -> bytes:
        """The enable key (or an enable/disable command): pushes id 3."""
        self.enabled = bool(enabled)
        if not self.enabled:
            self._train.clear()
        return self._frame(m.EnableChanged(self.coil_temperature_c, self.coil_type, self.status_byte()))

    def foot_pedal(self) -> bytes:
        """The foot pedal (or trigger input): a pulse if enabled and recharged, pushing id 2."""
        if self.hung:
            return b""
        return self._pulse()

    def set_coil_temperature(self, celsius: int) -> bytes:
        self.coil_temperature_c = int(celsius)
        return self._frame(m.EnableChanged(self.coil_temperature_c, self.coil_type, self.status_byte()))

    def set_page(self, page: int) -> bytes:
        self.page = int(page)
        return self._frame(m.PageChanged(self.page, bool(self._train), self.status_byte()))

    def mep(self, max_uv: int, min_uv: int, max_time_us: int) -> bytes:
        """The unit's MEP page measured a response: pushes id 4."""
        return self._frame(m.MepResult(int(max_uv), int(min_uv), int(max_time_us)))

    def restart(self) -> None:
        """Power-cycle: answers again, disabled, amplitude kept (as stored on the unit)."""
        self.hung = False
        self.enabled = False
        self._buf.clear()
        self._train.clear()

    def realised_didt(self, amplitude_pct: int) -> int:
        jitter = int(self._rng.integers(-self.didt_jitter, self.didt_jitter + 1)) if self.didt_jitter else 0
        return max(0, min(255, round(self.didt_per_pct * amplitude_pct) + jitter))

    def _pulse(self) -> bytes:
        now = self.clock()
        if not self.enabled or (self._last_pulse_s is not None and now - self._last_pulse_s < self.recharge_s):
            return b""
        self._last_pulse_s = now
        self.pulses += 1
        didt_b = self.realised_didt(self.amplitude_b) if self.mode >= 2 else 0
        out = self._frame(m.PulseDelivered(self.realised_didt(self.amplitude_a), didt_b, self.status_byte()))
        mep = self.mep_after_pulse(self.amplitude_a) if self.mep_after_pulse is not None else None
        return out + (self.mep(*mep) if mep is not None else b"")

    def start_train(self) -> bytes:
        """Start a train (command 4 or the unit's start key): ``train_pulses`` at ``train_rate_hz``
        on the unit's clock, each reported by message 2; message 8 says running, then stopped."""
        if not self.enabled or self._train:
            return b""
        now = self.clock()
        self._train = [now + k / self.train_rate_hz for k in range(self.train_pulses)]
        return self._frame(m.PageChanged(self.page, True, self.status_byte()))

    def next_due_s(self) -> float | None:
        return self._train[0] if self._train else None

    def due_output(self) -> bytes:
        """Train pulses whose time has come on the unit's clock (and the train-stopped push)."""
        out = bytearray()
        now = self.clock()
        while self._train and self._train[0] <= now and not self.hung:
            self._train.pop(0)
            self._last_pulse_s = None   # pulses of a train are paced by the unit itself
            out += self._pulse()
            if not self._train:
                out += self._frame(m.PageChanged(self.page, False, self.status_byte()))
        return bytes(out)
