"""MagVenture MagPro driver: commands by request/reply, every unsolicited frame turned into events.

Link: RS-232 on the stimulator's COM2 port, 38400 bps 8N1, 3-wire null-modem (MagVenture MagPro
host-interface description; see :mod:`.messages` for the message table and its sources; nothing
here was checked on a physical unit).

Why a reader thread: the unit pushes frames whenever something happens (a pulse with its realised
dI/dt, the amplitude turned on the front panel, enable/disable, the MEP page), so a reply can
arrive after an unsolicited frame. One thread reads everything, parses it by frame
(:class:`~.framing.FrameScanner`, which skips garbage) and dispatches by message id:

* replies (ids 0, 5, 9) wake the command waiting for that id. Only replies counted after the
  command was written are taken, so a late answer to an earlier request never passes as this one;
* id 2 becomes a :class:`~tmsnav.hardware.stimulators.base.PulseEvent` with the time the bytes
  arrived, the realised dI/dt from the frame and the output from the amplitude the unit last
  reported (never the one the host asked for) - foot-pedal and trigger-input pulses included;
* id 4 becomes a :class:`MepEvent` for the motor-threshold tools; ids 1, 3, 8 update the state and
  go to the state callback (intensity and coil temperature shown live);
* a valid frame with an id or length tmsnav does not use (one reader reports ids 6 and 7 for the
  original amplitude and amplitude factor, another undocumented frames at power-on or when a coil
  is unplugged) is counted in ``ignored_messages`` and otherwise ignored.

Safety (the manufacturers' alternate-controller rules): the driver never enables or fires on its
own: only :meth:`arm` and :meth:`fire` send those, and the app calls them from a user action.
Every setting is read back with a status request (:class:`ReadbackMismatch`). A unit that stops
answering (a request or the heartbeat status-2 poll times out) or a port that fails (cable pulled)
is reported at once through the state callback, and the driver sends a disable in case the unit
can still hear it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

import serial

from ..base import (PulseEvent, ReadbackMismatch, Stimulator, StimulatorError, StimulatorLinkLost, StimulatorRefused,
                    StimulatorStatus)
from . import messages as m
from .framing import FrameScanner, encode_frame

__all__ = ["MagVentureDriver", "MepEvent", "MagProState", "MAGPRO_BAUD"]

log = logging.getLogger(__name__)

MAGPRO_BAUD = 38400
_READ_SLICE_S = 0.02


@dataclass(frozen=True)
class MepEvent:
    """The unit's own MEP measurement (message 4): extremes in uV, time of the maximum after the
    pulse in us, and when the frame arrived (``time.monotonic_ns``)."""

    host_time_ns: int
    max_uv: int
    min_uv: int
    max_time_us: int

    @property
    def peak_to_peak_uv(self) -> int:
        return self.max_uv - self.min_uv


@dataclass(frozen=True)
class MagProState:
    """What the unit last reported, whichever message said it."""

    status: m.StatusByte | None = None
    amplitude_a_pct: int | None = None
    amplitude_b_pct: int | None = None
    coil_temperature_c: int | None = None
    coil_type: int | None = None
    serial_number: int | None = None
    page: int | None = None
    train_running: bool | None = None


StateCallback = Callable[[StimulatorStatus], None]
MepCallback = Callable[[MepEvent], None]


class MagVentureDriver(Stimulator):
    """One MagPro on ``port`` (``/dev/ttyUSB0``, ``COM3``, a pty or ``socket://host:port``)."""

    kind = "MagVenture MagPro"

    def __init__(self, port: str, *, timeout_s: float = 1.0, readback_timeout_s: float = 0.5,
                 heartbeat_s: float | None = 0.5, baud: int = MAGPRO_BAUD) -> None:
        self.port = port
        self.timeout_s = float(timeout_s)
        self.readback_timeout_s = float(readback_timeout_s)
        self.heartbeat_s = heartbeat_s
        self.baud = int(baud)
        self.state = MagProState()
        self.scanner = FrameScanner()
        self.ignored_messages = 0
        self.pulses = 0
        self._serial: serial.SerialBase | None = None
        self._cond = threading.Condition()
        self._counts: dict[int, int] = {}
        self._replies: dict[int, m.Message] = {}
        self._lost: str | None = None       # the port failed: permanent until connect()
        self._fault: str | None = None      # the unit stopped answering: cleared by its next answer
        self._command_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._state_callback: StateCallback | None = None
        self._mep_callback: MepCallback | None = None
        self._last_status_ns = 0

    # ----- callbacks ------------------------------------------------------------------------------
    def set_state_callback(self, callback: StateCallback | None) -> None:
        """Called (from the driver's threads) whenever the unit reports a change or the link fails."""
        self._state_callback = callback

    def set_mep_callback(self, callback: MepCallback | None) -> None:
        """Called with every MEP the unit's MEP page measures (message 4)."""
        self._mep_callback = callback

    # ----- Stimulator API ----------------------------------------------------------------------------
    def connect(self) -> StimulatorStatus:
        self.close()
        try:
            self._serial = serial.serial_for_url(self.port, baudrate=self.baud, bytesize=8, parity="N", stopbits=1,
                                                 timeout=_READ_SLICE_S, write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise StimulatorLinkLost(f"cannot open {self.port} for the MagPro: {exc}") from None
        self._lost = self._fault = None
        self._stop.clear()
        self._start_thread(self._read_loop, "magpro-reader")
        try:
            status = self.status()
        except StimulatorError:
            self.close()
            raise
        if self.heartbeat_s:
            self._start_thread(self._heartbeat_loop, "magpro-heartbeat")
        return status

    def status(self) -> StimulatorStatus:
        with self._command_lock:
            self._request(m.cmd_get_status(), m.GET_STATUS, "the status request")
        return self._status_now()

    def read_status2(self) -> m.MagProStatus2:
        """Status 2: page, train running, original amplitudes and factors."""
        with self._command_lock:
            reply = self._request(m.cmd_get_status2(), m.GET_STATUS2, "the status-2 request")
        assert isinstance(reply, m.MagProStatus2)
        return reply

    def set_power(self, percent: int) -> StimulatorStatus:
        payload = m.cmd_set_amplitude(percent)   # ValueError for anything but a whole 0-100
        with self._command_lock:
            self._send_and_settle(payload, m.AMPLITUDE_CHANGED)
            self._request(m.cmd_get_status(), m.GET_STATUS, "the amplitude read-back")
        status = self._status_now()
        if status.power_a_pct != percent:
            raise ReadbackMismatch(f"asked the MagPro for {percent} % but it reports {status.power_a_pct} % "
                                   "(the unit limits the output for this coil or mode?); nothing was fired")
        return status

    def arm(self) -> StimulatorStatus:
        """Enable the unit. Only ever called from an explicit user action."""
        with self._command_lock:
            self._send_and_settle(m.cmd_set_enabled(True), m.ENABLE_CHANGED)
            self._request(m.cmd_get_status(), m.GET_STATUS, "the enable read-back")
        status = self._status_now()
        if not status.armed:
            raise StimulatorRefused("the MagPro did not enable: check its display for an error or a page "
                                    "that blocks remote control")
        return status

    def disarm(self) -> StimulatorStatus:
        """Disable; never raises because the link is gone (returns a disconnected status then)."""
        try:
            with self._command_lock:
                self._send_and_settle(m.cmd_set_enabled(False), m.ENABLE_CHANGED)
                self._request(m.cmd_get_status(), m.GET_STATUS, "the disable read-back")
        except StimulatorError as exc:
            return StimulatorStatus.disconnected(self.kind, fault=str(exc))
        status = self._status_now()
        if status.armed:
            return replace(status, fault="the MagPro still reports enabled after disable: switch it off at the unit")
        return status

    def fire(self) -> None:
        """One pulse. Only ever called from an explicit user action. The pulse itself is reported
        by the unit (message 2) through the pulse callback; StimulatorRefused if none came."""
        with self._command_lock:
            self._check_link()
            sb = self.state.status
            if sb is None or not sb.enabled:   # pushes keep this current; confirm before refusing
                self._request(m.cmd_get_status(), m.GET_STATUS, "the status request before firing")
                sb = self.state.status
                if sb is None or not sb.enabled:
                    raise StimulatorRefused("not fired: the MagPro is not enabled")
            with self._cond:
                before = self._counts.get(m.PULSE_DELIVERED, 0)
            self._write(encode_frame(m.cmd_fire()))
            if self._wait_count(m.PULSE_DELIVERED, before, self.timeout_s):
                return
            self._request(m.cmd_get_status(), m.GET_STATUS, "the status request after firing")
        if not self._status_now().armed:
            raise StimulatorRefused("not fired: the MagPro is not enabled")
        raise StimulatorRefused("the MagPro reported no pulse (still recharging, or fired from another page?)")

    def close(self) -> None:
        """Disable if the unit can hear it, stop the threads, close the port. Never raises."""
        if self._serial is not None and self._lost is None:
            try:
                self._write(encode_frame(m.cmd_set_enabled(False)))
            except StimulatorError:
                pass
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self._threads = []
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # noqa: BLE001 - a vanished port may fail in any way on close
                pass
            self._serial = None
        with self._cond:
            self._cond.notify_all()

    # ----- requests ----------------------------------------------------------------------------------
    def _check_link(self) -> None:
        if self._serial is None:
            raise StimulatorLinkLost(f"the MagPro on {self.port} is not connected")
        if self._lost is not None:
            raise StimulatorLinkLost(self._lost)

    def _write(self, data: bytes) -> None:
        ser = self._serial
        if ser is None:
            raise StimulatorLinkLost(f"the MagPro on {self.port} is not connected")
        try:
            with self._write_lock:
                ser.write(data)
                ser.flush()
        except (serial.SerialException, OSError) as exc:
            self._link_failed(f"lost the MagPro on {self.port}: {exc} (cable pulled or adapter unplugged?)")
            raise StimulatorLinkLost(self._lost or str(exc)) from None

    def _wait_count(self, message_id: int, before: int, timeout_s: float) -> bool:
        """Wait until more than ``before`` messages ``message_id`` arrived; False on timeout.
        StimulatorLinkLost at once if the port fails meanwhile."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._counts.get(message_id, 0) <= before:
                if self._lost is not None:
                    raise StimulatorLinkLost(self._lost)
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(left)
        return True

    def _send_and_settle(self, payload: bytes, pushed_id: int) -> None:
        """Send a setting and give the unit up to ``readback_timeout_s`` to push its change frame
        (no error if it does not: the status read-back that follows decides)."""
        self._check_link()
        with self._cond:
            before = self._counts.get(pushed_id, 0)
        self._write(encode_frame(payload))
        self._wait_count(pushed_id, before, self.readback_timeout_s)

    def _request(self, payload: bytes, reply_id: int, what: str) -> m.Message:
        """Write ``payload`` and return the first ``reply_id`` message counted after the write.
        Call with ``_command_lock`` held."""
        self._check_link()
        with self._cond:
            before = self._counts.get(reply_id, 0)
        self._write(encode_frame(payload))
        if not self._wait_count(reply_id, before, self.timeout_s):
            self._went_silent(f"the MagPro on {self.port} did not answer {what} within {self.timeout_s:g} s: is it "
                              f"switched on, the null-modem cable in its COM2 port and the port at {self.baud} bps?")
        with self._cond:
            return self._replies[reply_id]

    def _went_silent(self, text: str) -> None:
        self._fault = text
        log.warning("%s", text)
        try:   # the unit may still hear us even if we no longer hear it
            with self._write_lock:
                if self._serial is not None:
                    self._serial.write(encode_frame(m.cmd_set_enabled(False)))
        except (serial.SerialException, OSError):
            pass
        self._notify_state(StimulatorStatus.disconnected(self.kind, fault=text))
        raise StimulatorLinkLost(text)

    def _link_failed(self, text: str) -> None:
        with self._cond:
            if self._lost is not None:
                return
            self._lost = text
            self._cond.notify_all()
        log.warning("%s", text)
        self._notify_state(StimulatorStatus.disconnected(self.kind, fault=text))

    # ----- state -------------------------------------------------------------------------------------
    def _status_now(self) -> StimulatorStatus:
        st = self.state
        sb = st.status
        model = f"{self.kind} {sb.model_name}" if sb is not None else self.kind
        # remote_control: the MagPro has no remote mode to take; COM2 commands are always accepted
        return StimulatorStatus(self._last_status_ns or time.monotonic_ns(), model, self._lost is None, True,
                                bool(sb and sb.enabled), bool(sb and sb.enabled), st.amplitude_a_pct,
                                st.amplitude_b_pct,
                                None if st.coil_temperature_c is None else float(st.coil_temperature_c),
                                None, self._fault or self._lost)

    def _notify_state(self, status: StimulatorStatus) -> None:
        cb = self._state_callback
        if cb is not None:
            try:
                cb(status)
            except Exception:  # noqa: BLE001 - a faulty receiver must not stop the reader thread
                log.exception("MagPro state callback failed")

    # ----- threads -----------------------------------------------------------------------------------
    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            ser = self._serial
            if ser is None:
                return
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._stop.is_set():
                    self._link_failed(f"lost the MagPro on {self.port}: {exc} (cable pulled or adapter unplugged?)")
                return
            if not data:
                continue
            now_ns = time.monotonic_ns()
            self.scanner.feed(data)
            for payload in self.scanner.payloads():
                self._dispatch(payload, now_ns)

    def _heartbeat_loop(self) -> None:
        """Poll status 2 while idle (as commercial navigators do, twice a second): a pulled RS-232
        cable shows no port error, only silence."""
        assert self.heartbeat_s
        while not self._stop.wait(self.heartbeat_s):
            if self._lost is not None:
                return
            if not self._command_lock.acquire(blocking=False):
                continue   # a command is in flight: it watches the link itself
            try:
                self._request(m.cmd_get_status2(), m.GET_STATUS2, "the status-2 poll")
            except StimulatorError:
                pass   # already reported through the state callback
            finally:
                self._command_lock.release()

    def _dispatch(self, payload: bytes, now_ns: int) -> None:
        try:
            msg = m.decode_message(payload)
        except m.MessageError as exc:
            self.ignored_messages += 1
            log.debug("MagPro: ignored %s", exc)
            return
        st = self.state
        event: PulseEvent | None = None
        mep: MepEvent | None = None
        if isinstance(msg, (m.MagProStatus, m.MagProStatus2)):
            base = msg.base if isinstance(msg, m.MagProStatus2) else msg
            st = replace(st, status=base.status, amplitude_a_pct=base.amplitude_a_pct,
                         amplitude_b_pct=base.amplitude_b_pct, coil_temperature_c=base.coil_temperature_c,
                         coil_type=base.coil_type, serial_number=base.serial_number)
            if isinstance(msg, m.MagProStatus2):
                st = replace(st, page=msg.page, train_running=msg.train_running)
        elif isinstance(msg, m.AmplitudeChanged):
            st = replace(st, status=msg.status, amplitude_a_pct=msg.amplitude_a_pct,
                         amplitude_b_pct=msg.amplitude_b_pct)
        elif isinstance(msg, m.EnableChanged):
            st = replace(st, status=msg.status, coil_temperature_c=msg.coil_temperature_c, coil_type=msg.coil_type)
        elif isinstance(msg, m.PageChanged):
            st = replace(st, status=msg.status, page=msg.page, train_running=msg.train_running)
        elif isinstance(msg, m.PulseDelivered):
            self.pulses += 1
            st = replace(st, status=msg.status)
            event = PulseEvent(now_ns, "magventure", self.pulses,
                               None if st.amplitude_a_pct is None else float(st.amplitude_a_pct), float(msg.didt_a),
                               {"didt_b_a_per_us": float(msg.didt_b), "output_b_pct_mso": st.amplitude_b_pct,
                                "mode": msg.status.mode_name, "waveform": msg.status.waveform_name})
        elif isinstance(msg, m.MepResult):
            mep = MepEvent(now_ns, msg.max_uv, msg.min_uv, msg.max_time_us)
        self.state = st
        self._last_status_ns = now_ns   # the unit spoke: what we show is this fresh
        was_fault = self._fault
        self._fault = None   # the unit answered: it is not silent
        with self._cond:
            self._replies[payload[0]] = msg
            self._counts[payload[0]] = self._counts.get(payload[0], 0) + 1
            self._cond.notify_all()
        if event is not None:
            try:
                self._emit_pulse(event)
            except Exception:  # noqa: BLE001 - keep reading: the next pulse must still be logged
                log.exception("MagPro pulse callback failed")
        if mep is not None and self._mep_callback is not None:
            try:
                self._mep_callback(mep)
            except Exception:  # noqa: BLE001
                log.exception("MagPro MEP callback failed")
        if not isinstance(msg, (m.PulseDelivered, m.MepResult, m.ModeInfo)) or was_fault:
            self._notify_state(self._status_now())
