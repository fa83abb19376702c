"""``MagstimDriver``: remote control of a Magstim 200², BiStim² or Rapid² over RS-232.

Protocol: :mod:`.protocol` (Magstim's host-interface bulletin; nothing checked on a real unit).
What the driver adds to the bytes, following the bulletin's rules for alternate controllers:

* it never arms or fires on its own: :meth:`arm` and :meth:`fire` are only called from a user's
  action in the GUI, and no other path sends ``EB`` or ``EH`` (the keep-alive sends ``J@`` / ``\\@``);
* every parameter it sets is read back from the unit and compared (:class:`ReadbackMismatch`,
  after which it disarms);
* a keep-alive (:mod:`.keepalive`) polls the status every 500 ms so the unit stays in remote
  control and armed while the user wants it armed;
* a lost link (no reply within ``timeout_s``, a pulled cable) is :class:`StimulatorLinkLost` from
  then on, the driver tries to disarm (it writes ``EA`` without waiting), and ``on_fault`` is told;
* a pulse fired over serial is reported through the pulse callback with the output the unit last
  *reported* (never the value asked for). The unit sends nothing unsolicited, so pulses from its
  front panel or trigger input need a trigger-out line (:mod:`tmsnav.hardware.triggers`).

Not thread-safe for the caller (one driver thread), but the keep-alive thread shares the line
through an internal lock.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..base import (PulseEvent, ReadbackMismatch, Stimulator, StimulatorError, StimulatorLinkLost,
                    StimulatorRefused, StimulatorStatus)
from . import protocol as p
from .keepalive import KEEPALIVE_INTERVAL_S, KeepAlive
from .link import MagstimLink
from .reader import drain, read_reply
from .unit import ARM_TIME_S, MAX_ARM_TEMPERATURE_C, POWER_DOWN_S_PER_PCT, POWER_UP_S_PER_PCT

__all__ = ["MagstimDriver"]

_NO_RETRY = (p.ARM, p.FIRE)   # never sent twice: a lost reply may hide a unit that did it


class MagstimDriver(Stimulator):
    """A Magstim on ``port`` (``/dev/ttyUSB0``, ``COM3``, a pty or ``socket://host:port``).

    ``model``: "200", "bistim" or "rapid". ``unlock_code``: the per-unit code a Rapid² with
    software v9 or later needs for remote control (from Magstim). ``timeout_s``: how long a
    silent unit is waited for before the link counts as lost. ``on_fault(message)`` is called once
    when the link is lost or the unit reports a fault, from the caller's or the keep-alive's
    thread: it must not block. ``clock`` (seconds) times the unit's power changes; tests pass the
    emulated unit's clock."""

    kind = "magstim"

    def __init__(self, port: str, *, model: str = "200", unlock_code: str | None = None,
                 timeout_s: float = 0.5, keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
                 on_fault: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if model not in p.MODELS:
            raise ValueError(f"unknown Magstim model {model!r}; choose one of {', '.join(p.MODELS)}")
        self.port = port
        self.model = model
        self.name = p.MODELS[model]
        self.unlock_code = unlock_code
        self.timeout_s = float(timeout_s)
        self.on_fault = on_fault
        self.clock = clock
        self._settled_at = 0.0         # clock() when the unit has reached the last power set
        self._settle_what = ""
        self._fault_seen: str | None = None
        self.version: tuple[int, int, int] = (0, 0, 0)
        self._lock = threading.RLock()
        self._link: MagstimLink | None = None
        self._lost: str | None = None
        self.keepalive = KeepAlive(self._poll, interval_s=keepalive_interval_s,
                                    on_failure=self._keepalive_failed)
        self._status = p.InstrumentStatus()
        self._power_a: int | None = None
        self._power_b: int | None = None
        self._interval_ms: int | None = None
        self._temperature_c: float | None = None
        self._rapid: p.RapidParameters | None = None
        self._pulses = 0
        self.garbage_bytes = 0

    # ----- the line -------------------------------------------------------------------------------
    def _require_link(self) -> MagstimLink:
        if self._lost is not None:
            raise StimulatorLinkLost(self._lost)
        if self._link is None:
            raise StimulatorError(f"the {self.name} is not connected; connect first")
        return self._link

    def _transact(self, body: bytes) -> bytes:
        """Send one command, return its reply (normal or error). Garbled replies are retried
        twice for commands that are safe to repeat; silence or a dead port loses the link."""
        with self._lock:
            link = self._require_link()
            attempts = 1 if body in _NO_RETRY else 3
            for attempt in range(attempts):
                try:
                    self.garbage_bytes += len(link.discard_input())
                    link.write(p.frame(body))
                    reply, skipped = read_reply(link, body, self.model, self.version,
                                                self.timeout_s, f"the {self.name} on {self.port}")
                    self.garbage_bytes += skipped
                    return reply
                except p.MagstimReplyError:
                    if attempt == attempts - 1:
                        raise
                    self.garbage_bytes += drain(link)
                except StimulatorLinkLost as exc:
                    self._mark_lost(str(exc))
                    raise StimulatorLinkLost(self._lost or str(exc)) from None
            raise AssertionError("unreachable")

    def _command(self, body: bytes, what: str) -> bytes:
        """Send and return a normal reply; error replies become typed errors naming ``what``."""
        reply = self._transact(body)
        meaning = p.error_reply_meaning(reply)
        if meaning is None:
            if len(reply) >= 2 and body != p.VERSION:   # the version reply has no status byte
                self._status = p.InstrumentStatus.from_byte(reply[1])
            return reply
        if reply == b"?":
            raise StimulatorError(f"{what}: {meaning} ({self.name}, model right?)")
        if reply[1:2] == b"?":
            raise StimulatorRefused(f"{what}: {meaning}")
        raise StimulatorRefused(f"{what}: {self._refusal_reason()}")

    def _refusal_reason(self) -> str:
        try:
            self._read_parameters()
            self._read_temperature()
        except StimulatorError:
            return "the unit refused it (state unknown)"
        s = self._status
        if not s.remote:
            return "the unit is not under remote control (it dropped out; reconnect)"
        if self._temperature_c is not None and self._temperature_c > MAX_ARM_TEMPERATURE_C:
            return (f"coil at {self._temperature_c:.1f} degC, above the unit's 40 degC limit: "
                    f"let it cool or change coil")
        if not s.coil_present:
            return "no coil connected"
        if s.armed and not s.ready:
            return f"still charging (about {ARM_TIME_S:g} s after arming)"
        if not s.armed:
            return "the unit is not armed"
        if s.armed and s.ready:
            return "the unit is already armed"
        return "not allowed in the unit's current state"

    def _mark_lost(self, message: str) -> None:
        first = self._lost is None
        self._lost = message
        if not first:
            return
        link = self._link
        if link is not None:
            try:                               # disarm attempt: write only, never wait
                link.write(p.frame(p.DISARM))
            except StimulatorError:
                pass
        self.keepalive.stop(wait=False)
        if self.on_fault is not None:
            self.on_fault(message)

    def _keepalive_failed(self, exc: StimulatorLinkLost) -> None:
        with self._lock:
            self._mark_lost(str(exc))

    # ----- reads ----------------------------------------------------------------------------------
    def _read_parameters(self) -> None:
        if self.model == "rapid":
            reply = self._command(p.RAPID_PARAMETERS, "read Rapid² parameters")
            self._status, self._rapid = p.parse_rapid_parameters(reply, self.version)
            self._power_a = self._rapid.power_pct
        else:
            reply = self._command(p.READ_PARAMETERS, "read parameters")
            self._status, a, b, interval = p.parse_parameters(reply)
            self._power_a = a
            self._power_b = b if self.model == "bistim" else None
            self._interval_ms = interval if self.model == "bistim" else None
        self._on_status()

    def _on_status(self) -> None:
        """The bulletin: on any fault go to a discharged state, and show it as clearly as the
        unit's own panel does. A fault seen while armed disarms at once (once per fault)."""
        fault = self._status.fault()
        if fault is None or fault == self._fault_seen:
            self._fault_seen = fault
            return
        self._fault_seen = fault
        message = fault
        if self._status.armed:
            try:
                self._command(p.DISARM, "disarm")
                message += "; tmsnav disarmed it"
            except StimulatorError:
                message += "; the disarm command failed: disarm it on the unit"
        if self.on_fault is not None:
            self.on_fault(message)

    def _read_temperature(self) -> None:
        reply = self._command(p.TEMPERATURE, "read coil temperature")
        self._status, t1, t2 = p.parse_temperature(reply)
        self._temperature_c = max(t1, t2)
        self._on_status()

    def _poll(self) -> None:
        """The keep-alive: one status-returning command."""
        with self._lock:
            if self._link is not None and self._lost is None:
                self._read_parameters()

    def _snapshot(self) -> StimulatorStatus:
        s = self._status
        return StimulatorStatus(time.monotonic_ns(), self.name, True, s.remote, s.armed, s.ready,
                                self._power_a, self._power_b, self._temperature_c, s.coil_present,
                                s.fault())

    # ----- Stimulator -----------------------------------------------------------------------------
    def connect(self) -> StimulatorStatus:
        with self._lock:
            if self._link is not None and self._lost is None:
                return self.status()
            self._close_quietly()              # a link lost earlier: start afresh
            self._lost = None
            self._link = MagstimLink(self.port)
            try:
                if self.model == "rapid":
                    self.version = p.parse_version(
                        self._command(p.VERSION, "read the Rapid² software version"))
                    if self.version >= (9, 0, 0) and not self.unlock_code:
                        raise StimulatorRefused(
                            f"this Rapid² runs software {'.'.join(map(str, self.version))}: "
                            f"remote control needs the unit's unlock code (from Magstim)")
                code = self.unlock_code if self.version >= (9, 0, 0) else None
                try:
                    self._command(p.enable_remote_body(code), "take remote control")
                except StimulatorError as exc:   # '?' too: a code of another length
                    if code and not isinstance(exc, StimulatorLinkLost):
                        raise StimulatorRefused("the Rapid² refused the unlock code: check it "
                                                "(each unit has its own, from Magstim)") from exc
                    raise
                status = self.status()
            except StimulatorError:
                self._close_quietly()
                raise
            self.keepalive.start()
            return status

    def status(self) -> StimulatorStatus:
        with self._lock:
            self._read_parameters()
            self._read_temperature()
            return self._snapshot()

    def set_power(self, percent: int) -> StimulatorStatus:
        """Set output A and read it back. The unit then needs about 10 ms per % to charge up and
        100 ms per % to discharge down (bulletin); :meth:`fire` refuses until that has passed,
        so a pulse never leaves at the old output while the log says the new one."""
        limit = 110 if self._rapid is not None and self._rapid.rapid.enhanced_power else 100
        percent = self._checked_int(percent, 0, limit, "power %")
        with self._lock:
            before = self._power_a
            status = self._set(p.set_power_body(percent), "power A", percent, lambda: self._power_a)
            self._settling(before, percent)
            return status

    def _settling(self, before: int | None, after: int) -> None:
        if before is None or before == after:
            return
        per_pct = POWER_UP_S_PER_PCT if after > before else POWER_DOWN_S_PER_PCT
        self._settled_at = max(self._settled_at, self.clock() + abs(after - before) * per_pct)
        self._settle_what = f"{'charging up' if after > before else 'discharging'} from " \
                            f"{before} to {after} %"

    def set_power_b(self, percent: int) -> StimulatorStatus:
        """BiStim²: output B (the second pulse of a pair)."""
        self._require_model("bistim", "output B")
        percent = self._checked_int(percent, 0, 100, "power %")
        with self._lock:
            before = self._power_b
            status = self._set(p.set_power_body(percent, "B"), "power B", percent,
                               lambda: self._power_b)
            self._settling(before, percent)
            return status

    def set_paired_interval_ms(self, ms: int) -> StimulatorStatus:
        """BiStim²: the interval between the pulses of a pair (``C`` + 3 digits, ms)."""
        self._require_model("bistim", "paired-pulse interval")
        ms = self._checked_int(ms, 0, 999, "paired-pulse interval (ms)")
        return self._set(b"C" + p.digits(ms, 3), "paired-pulse interval", ms,
                         lambda: self._interval_ms)

    def set_rapid_frequency(self, hz: float) -> p.RapidParameters:
        self._require_model("rapid", "train frequency")
        tenths = self._checked_int(round(hz * 10), 0, 1000, "frequency (0.1 Hz)")
        self._set(b"B" + p.digits(tenths, 4), "frequency", tenths / 10,
                  lambda: self._rapid.frequency_hz if self._rapid else None)
        return self._rapid_or_fail()

    def set_rapid_pulses(self, n: int) -> p.RapidParameters:
        self._require_model("rapid", "pulses per train")
        width = p.rapid_widths(self.version)["pulses"]
        n = self._checked_int(n, 1, 6000, "pulses per train")
        self._set(b"D" + p.digits(n, width), "pulses per train", n,
                  lambda: self._rapid.n_pulses if self._rapid else None)
        return self._rapid_or_fail()

    def set_rapid_duration(self, seconds: float) -> p.RapidParameters:
        self._require_model("rapid", "train duration")
        width = p.rapid_widths(self.version)["duration"]
        tenths = self._checked_int(round(seconds * 10), 0, 10 ** width - 1, "duration (0.1 s)")
        self._set(b"[" + p.digits(tenths, width), "train duration", tenths / 10,
                  lambda: self._rapid.duration_s if self._rapid else None)
        return self._rapid_or_fail()

    def set_enhanced_power(self, on: bool) -> p.RapidParameters:
        """Rapid²: enhanced power mode (``^@`` on, allows up to 110 %; ``_@`` off, the unit
        lowers a power above 100 % to 100 %), read back from the rTMS status byte."""
        self._require_model("rapid", "enhanced power")
        with self._lock:
            before = self._power_a
            self._set(p.ENHANCED_ON if on else p.ENHANCED_OFF, "enhanced power", float(bool(on)),
                      lambda: float(self._rapid.rapid.enhanced_power) if self._rapid else None)
            if before is not None and self._power_a is not None:
                self._settling(before, self._power_a)
            return self._rapid_or_fail()

    def rapid_parameters(self) -> p.RapidParameters:
        """Rapid²: the train parameters as the unit reports them."""
        self._require_model("rapid", "train parameters")
        with self._lock:
            self._read_parameters()
            return self._rapid_or_fail()

    def arm(self) -> StimulatorStatus:
        with self._lock:
            self._command(p.ARM, "arm")
            return self.status()

    def disarm(self) -> StimulatorStatus:
        with self._lock:
            try:
                self._command(p.DISARM, "disarm")
                return self.status()
            except StimulatorError as exc:
                return StimulatorStatus.disconnected(self.name, fault=str(exc))

    def fire(self) -> None:
        with self._lock:
            self._require_link()
            wait_s = self._settled_at - self.clock()
            if wait_s > 1e-6:                  # float sums of the settle time
                raise StimulatorRefused(f"fire: the unit is still {self._settle_what} "
                                        f"({wait_s:.1f} s left); nothing was fired")
            self._command(p.FIRE, "fire")
            seen_ns = time.monotonic_ns()
            self._pulses += 1
            power = None if self._power_a is None else float(self._power_a)
            event = PulseEvent(seen_ns, "magstim", self._pulses, output_pct_mso=power,
                               detail={"fired_by": "serial", "model": self.model})
        self._emit_pulse(event)

    def close(self) -> None:
        try:
            self.keepalive.stop()
            with self._lock:
                if self._link is not None and self._lost is None:
                    for body in (p.DISARM, p.DISABLE_REMOTE):
                        try:
                            self._transact(body)
                        except StimulatorError:
                            break
                self._close_quietly()
        except Exception:  # noqa: BLE001 - close() is called from cleanup paths: never raise
            pass

    # ----- helpers --------------------------------------------------------------------------------
    def _close_quietly(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def _set(self, body: bytes, what: str, wanted: float,
             read_back: Callable[[], float | int | None]) -> StimulatorStatus:
        with self._lock:
            self._command(body, f"set {what}")
            self._read_parameters()
            got = read_back()
            if got is None or abs(float(got) - float(wanted)) > 1e-6:
                self.disarm()
                raise ReadbackMismatch(f"set {what} to {wanted:g} but the {self.name} reports "
                                       f"{got}; disarmed. Check the unit before going on")
            return self._snapshot()

    def _rapid_or_fail(self) -> p.RapidParameters:
        if self._rapid is None:
            raise StimulatorError("no Rapid² parameters read yet")
        return self._rapid

    def _require_model(self, model: str, what: str) -> None:
        if self.model != model:
            raise StimulatorError(f"{what} needs a {p.MODELS[model]}; this is a {self.name}")

    @staticmethod
    def _checked_int(value: float, low: int, high: int, what: str) -> int:
        if isinstance(value, bool) or int(value) != value or not low <= value <= high:
            raise ValueError(f"{what} must be a whole number {low}-{high}, got {value!r}")
        return int(value)
