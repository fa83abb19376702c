"""An emulated Magstim 200², BiStim² or Rapid²: the unit's state machine, bytes in, bytes out.

No I/O and no threads: :class:`MagstimUnit` takes the bytes a host wrote and returns the bytes the
unit answers, reading its own clock (a callable returning seconds) for every timed behaviour, so a
test drives it with a clock it controls (:class:`tmsnav.hardware.simulation.clock.ScenarioClock`)
instead of sleeping. :mod:`.emulator` puts it on a pty or TCP port.

Behaviour follows the manufacturer's host-interface bulletin (nothing checked on a real unit):

* remote control: ``Q@`` (Rapid² v9+: ``Q`` + the unit's unlock code) takes it, ``R@`` gives it
  back and disarms; without it, read-only commands are answered and the rest get ``<cmd>S``;
* arming (``EB``) sets *armed* at once and *ready* about 1 s later; ``EH`` fires only when ready;
* a new power takes about 10 ms per % to charge up and 100 ms per % to discharge down to; a pulse
  fired sooner has the old output (recorded in ``delivered``);
* the unit disarms when armed and not fired for about a minute, and refuses to arm (and disarms)
  above 40 degC coil temperature; the coil warms with every pulse (more at high output) and cools
  toward room temperature;
* keep-alive: under remote control every command counts; more than 1 s without one while armed
  disarms, more than 10 s drops remote control (and disarms);
* ``?`` for an unknown command or a frame whose checksum is wrong, ``<cmd>?`` for bad data
  (e.g. power 101 %), ``<cmd>S`` for a command the state does not allow.
"""

from __future__ import annotations

import math
from typing import Callable

from . import protocol as p

__all__ = ["MagstimUnit"]

ARM_TIME_S = 1.0
ARMED_UNFIRED_LIMIT_S = 60.0
ARMED_LINK_LIMIT_S = 1.0
STANDBY_LINK_LIMIT_S = 10.0
MAX_ARM_TEMPERATURE_C = 40.0
POWER_UP_S_PER_PCT = 0.01      # time the unit needs to charge to a higher power, per %
POWER_DOWN_S_PER_PCT = 0.1     # ... and to discharge to a lower one
_READ_ONLY = frozenset(b"JF\\NIx")
_AT_PADDED = frozenset(b"JF\\Ix^_")


class MagstimUnit:
    """One emulated unit. ``model`` is ``"200"``, ``"bistim"`` or ``"rapid"``.

    ``heat_per_pulse_c`` is the coil's temperature rise for one pulse at 100 % output (it scales
    with the square of the output, as the energy does); ``cooling_tau_s`` its cooling time
    constant. ``unlock_code`` only applies to a Rapid² with software ``version`` >= 9."""

    def __init__(self, model: str = "200", *, clock: Callable[[], float],
                 version: tuple[int, int, int] = (9, 0, 0), unlock_code: str | None = None,
                 ambient_c: float = 24.0, heat_per_pulse_c: float = 0.05,
                 cooling_tau_s: float = 900.0) -> None:
        if model not in p.MODELS:
            raise ValueError(f"unknown Magstim model {model!r}; choose one of {', '.join(p.MODELS)}")
        self.model = model
        self.clock = clock
        self.version: tuple[int, int, int] = (int(version[0]), int(version[1]), int(version[2]))
        self.unlock_code = unlock_code if model == "rapid" and self.version >= (9, 0, 0) else None
        self.ambient_c = ambient_c
        self.heat_per_pulse_c = heat_per_pulse_c
        self.cooling_tau_s = cooling_tau_s
        self.remote = False
        self.armed = False
        self.coil_present = True
        self.replace_coil = False
        self.error: str | None = None    # None, "error" or "fatal" (status bits 5 and 6)
        self.power_a = 30
        self.power_b = 30 if model == "bistim" else 0
        self.interval_ms = 10 if model == "bistim" else 0
        self.frequency_dhz = 10      # Rapid²: 1.0 Hz
        self.n_pulses = 10
        self.duration_ds = 100       # 10.0 s
        self.wait_ds = 10            # 1.0 s
        self.enhanced = False
        self.power_report_offset = 0  # fault: the unit reports another power than it holds
        self.stalled = False
        self.ignored = b""                # what a stalled unit received and did not act on
        self.pulses = 0
        self.delivered: list[int] = []    # the output of every pulse, as the coil got it
        self.commands: list[bytes] = []   # every frame received, checksum excluded
        self.events: list[tuple[float, str]] = []
        self._buffer = b""
        now = clock()
        self._power_from = self.power_a
        self._power_settled_at = now
        self._armed_at = 0.0
        self._last_fire = 0.0
        self._last_command = now
        self._temp_c = ambient_c
        self._temp_at = now

    # ----- temperature -----------------------------------------------------------------------------
    def coil_temperature_c(self) -> float:
        """The coil's temperature now (cooling exponentially toward the room since last update)."""
        dt = max(0.0, self.clock() - self._temp_at)
        return self.ambient_c + (self._temp_c - self.ambient_c) * math.exp(-dt / self.cooling_tau_s)

    def set_coil_temperature(self, celsius: float) -> None:
        self._temp_c, self._temp_at = float(celsius), self.clock()

    # ----- status ---------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.armed and self.clock() - self._armed_at >= ARM_TIME_S

    def status(self) -> p.InstrumentStatus:
        return p.InstrumentStatus(standby=not self.armed, armed=self.armed, ready=self.ready,
                                  coil_present=self.coil_present, replace_coil=self.replace_coil,
                                  error_present=self.error is not None,
                                  error_fatal=self.error == "fatal", remote=self.remote)

    def rapid_status(self) -> p.RapidStatus:
        return p.RapidStatus(enhanced_power=self.enhanced, single_pulse_mode=self.duration_ds <= 10)

    def _disarm(self, why: str) -> None:
        if self.armed:
            self.armed = False
            self.events.append((self.clock(), f"disarmed: {why}"))

    def tick(self) -> None:
        """Apply the unit's timers: lost keep-alive, a minute armed unfired, an overheated coil."""
        now = self.clock()
        silent = now - self._last_command
        if self.armed and silent > ARMED_LINK_LIMIT_S:
            self._disarm(f"no command for {silent:.1f} s while armed")
        if self.remote and silent > STANDBY_LINK_LIMIT_S:
            self.remote = False
            self.events.append((now, f"left remote control: no command for {silent:.1f} s"))
        if self.armed and now - max(self._armed_at, self._last_fire) > ARMED_UNFIRED_LIMIT_S:
            self._disarm("armed and not fired for a minute")
        if self.armed and self.coil_temperature_c() > MAX_ARM_TEMPERATURE_C:
            self._disarm("coil above 40 degC")

    # ----- bytes ----------------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return the unit's replies (possibly empty)."""
        self.tick()
        if self.stalled:
            self.ignored += data
            return b""
        self._buffer += data
        out = []
        while self._buffer:
            length = self._command_length(self._buffer)
            if length is None:               # unknown command character: '?' and resynchronise
                self._buffer = self._buffer[1:]
                out.append(b"?")
                continue
            if len(self._buffer) < length:
                break
            command, self._buffer = self._buffer[:length], self._buffer[length:]
            if not p.frame_ok(command):
                out.append(b"?")
                continue
            body = command[:-1]
            self.commands.append(body)
            if self.remote or body[:1] in (b"Q", b"R"):
                self._last_command = self.clock()
            out.append(self._answer(body))
        return b"".join(out)

    def _command_length(self, buf: bytes) -> int | None:
        c = buf[:1]
        if c == b"Q":
            if self.unlock_code and not (len(buf) >= 3 and buf[1:2] == b"@" and p.frame_ok(buf[:3])):
                return 2 + len(self.unlock_code)
            return 3
        if c in (b"R", b"J", b"E", b"F", b"\\", b"N", b"I", b"x", b"^", b"_"):
            return 3
        if c == b"@" or (c in (b"A", b"C") and self.model == "bistim"):
            return 5
        if self.model == "rapid" and c in (b"B", b"D", b"["):
            widths = p.rapid_widths(self.version)
            return 2 + {b"B": widths["frequency"], b"D": widths["pulses"],
                        b"[": widths["duration"]}[c]
        return None

    def _reply(self, echo: bytes, payload: bytes = b"", rapid: bool = False) -> bytes:
        body = echo + bytes([self.status().to_byte()])
        if rapid:
            body += bytes([self.rapid_status().to_byte()])
        return p.frame(body + payload)

    def _answer(self, body: bytes) -> bytes:
        c = body[:1]
        refused, invalid = p.frame(c + b"S"), p.frame(c + b"?")
        rapid = self.model == "rapid"
        if c in (b"^", b"_", b"N", b"I", b"x", b"\\") and not rapid:
            return b"?"
        if c == b"J" and rapid:
            return b"?"
        if c == b"Q":
            if self.unlock_code and body[1:] != self.unlock_code.encode("ascii"):
                return invalid
            if not self.unlock_code and body[1:] != b"@":
                return invalid
            if not self.remote:
                self.events.append((self.clock(), "remote control"))
            self.remote = True
            return self._reply(c)
        if c == b"R":
            self._disarm("remote control released")
            self.remote = False
            return self._reply(c)
        if c == b"E" and body[1:] == b"A":     # disarm is always accepted
            self._disarm("host")
            return self._reply(c)
        if body[0] not in _READ_ONLY and not self.remote:
            return refused
        handler = getattr(self, f"_cmd_{c.hex()}", None)
        if handler is None:
            return b"?"
        if body[0] in _AT_PADDED and body[1:] != b"@":
            return invalid
        return handler(body, refused, invalid)

    # each handler: (body, refused reply, invalid-data reply) -> reply
    def _cmd_4a(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # J@
        shown = max(0, min(999, self.power_a + self.power_report_offset))
        return self._reply(b"J", p.digits(shown, 3) + p.digits(self.power_b, 3)
                           + p.digits(self.interval_ms, 3))

    def _cmd_46(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # F@
        t = min(99.9, self.coil_temperature_c())
        t1, t2 = round(t * 10), round((self.ambient_c + 0.9 * (t - self.ambient_c)) * 10)
        return self._reply(b"F", p.digits(t1, 3) + p.digits(t2, 3))

    def _cmd_40(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # @nnn
        value = self._digits(body[1:])
        limit = 110 if self.enhanced else 100
        if value is None or value > limit:
            return invalid
        now = self.clock()
        self._power_from = self.delivered_power()
        self._power_settled_at = now + abs(value - self._power_from) * (
            POWER_UP_S_PER_PCT if value > self._power_from else POWER_DOWN_S_PER_PCT)
        self.power_a = value
        return self._reply(b"@", rapid=self.model == "rapid")

    def _cmd_41(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # Annn (BiStim B)
        value = self._digits(body[1:])
        if value is None or value > 100:
            return invalid
        self.power_b = value
        return self._reply(b"A")

    def _cmd_43(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # Cnnn interval
        value = self._digits(body[1:])
        if value is None or value > 999:
            return invalid
        self.interval_ms = value
        return self._reply(b"C")

    def _cmd_45(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # E + mode
        mode = body[1:]
        if mode == b"B":
            if self.armed or not self.coil_present \
                    or self.coil_temperature_c() > MAX_ARM_TEMPERATURE_C:
                return refused
            self.armed, self._armed_at = True, self.clock()
            self.events.append((self._armed_at, "armed"))
            return self._reply(b"E")
        if mode == b"H":
            if not self.ready:
                return refused
            self._fire()
            return self._reply(b"E")
        return invalid

    def delivered_power(self) -> int:
        """The output a pulse would have now: the old setting until the capacitor has reached
        the new one (about 10 ms per % up, 100 ms per % down, per the bulletin)."""
        return self.power_a if self.clock() >= self._power_settled_at - 1e-6 else self._power_from

    def _fire(self) -> None:
        now = self.coil_temperature_c()
        delivered = self.delivered_power()
        self._temp_c = now + self.heat_per_pulse_c * (delivered / 100.0) ** 2
        self._temp_at = self._last_fire = self.clock()
        self.pulses += 1
        self.delivered.append(delivered)
        self.events.append((self._last_fire, f"pulse {self.pulses} at {delivered} %"))
        if self._temp_c > MAX_ARM_TEMPERATURE_C:
            self._disarm("coil above 40 degC")

    def _cmd_5c(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # \@
        w = p.rapid_widths(self.version)
        data = (p.digits(self.power_a + self.power_report_offset, w["power"])
                + p.digits(self.frequency_dhz, w["frequency"]) + p.digits(self.n_pulses, w["pulses"])
                + p.digits(self.duration_ds, w["duration"]) + p.digits(self.wait_ds, w["wait"]))
        return self._reply(b"\\", data, rapid=True)

    def _cmd_42(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # B frequency
        value = self._digits(body[1:])
        if value is None or value > 1000:
            return invalid
        self.frequency_dhz = value
        return self._reply(b"B", rapid=True)

    def _cmd_44(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # D pulses
        value = self._digits(body[1:])
        if value is None or not 1 <= value <= 6000:
            return invalid
        self.n_pulses = value
        return self._reply(b"D", rapid=True)

    def _cmd_5b(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # [ duration
        value = self._digits(body[1:])
        if value is None:
            return invalid
        self.duration_ds = value
        return self._reply(b"[", rapid=True)

    def _cmd_5e(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # ^@ enhanced on
        self.enhanced = True
        return self._reply(b"^", rapid=True)

    def _cmd_5f(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # _@ enhanced off
        self.enhanced, self.power_a = False, min(self.power_a, 100)
        return self._reply(b"_", rapid=True)

    def _cmd_4e(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # ND version
        if body[1:] != b"D":
            return invalid
        return p.frame(b"N" + ".".join(str(v) for v in self.version).encode("ascii") + b"\x00")

    def _cmd_49(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # I@ error code
        return self._reply(b"I", b"000")

    def _cmd_78(self, body: bytes, refused: bytes, invalid: bytes) -> bytes:     # x@ system status
        if self.version < (9, 0, 0):
            return b"?"
        return p.frame(b"x" + bytes([self.status().to_byte(), self.rapid_status().to_byte(), 0, 0]))

    @staticmethod
    def _digits(field: bytes) -> int | None:
        return int(field) if field.isdigit() else None

    def snapshot(self) -> dict[str, object]:
        """The unit's state in plain values (for tests and the emulator's printout)."""
        return {"remote": self.remote, "armed": self.armed, "ready": self.ready,
                "power_a": self.power_a, "pulses": self.pulses,
                "coil_temperature_c": round(self.coil_temperature_c(), 2)}
