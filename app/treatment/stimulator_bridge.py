"""Bridge from a stimulator driver to the GUI: the driver runs on its own worker thread.

The same shape as :mod:`tmsnav.app.tracking_bridge`: the device is never touched from the GUI
thread, so a unit that stops answering (each request waits up to its timeout) never freezes the
window, and a click is answered at once while pulses arrive.

* Commands (connect, set intensity, arm, fire, disarm, disconnect) run one at a time on a single
  worker thread, in the order clicked; results come back as Qt signals (queued to the GUI thread).
* A status poll every ``poll_s`` keeps intensity, coil temperature and armed/ready live (for a
  Magstim it is also what the unit's keep-alive needs while the driver's own keep-alive thread
  runs; Magstim "Remote control" documentation). A poll is skipped while a command is queued.
* STOP does not queue behind other commands: it runs ``disarm()`` on its own thread at once
  (the drivers serialise it on their command lock), and drops every queued ARM/FIRE.
* A lost link or a unit fault: the bridge attempts a disarm (drivers also write one themselves
  when the link fails) and emits :attr:`StimulatorBridge.linkLost` with the cause, for the red
  banner.

Safety (the manufacturers' alternate-controller rules, docs/treatment.md "Safety behaviour"):
nothing here arms or fires on its own. :meth:`arm` and :meth:`fire` exist only to be called from
the user's explicit clicks in :mod:`.stimulator_box`; a test checks that connecting and polling
put no enable or fire command on the wire.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from PySide6 import QtCore

from tmsnav.hardware.stimulators.base import (PulseEvent, Stimulator, StimulatorError, StimulatorLinkLost,
                                              StimulatorStatus)

__all__ = ["StimulatorBridge"]

log = logging.getLogger(__name__)

DriverFactory = Callable[[], Stimulator]
PulseSink = Callable[[PulseEvent], None]


class StimulatorBridge(QtCore.QObject):
    """Owns one driver; every signal is delivered on the GUI thread."""

    statusChanged = QtCore.Signal(object)        # StimulatorStatus
    connectionChanged = QtCore.Signal(bool)
    linkLost = QtCore.Signal(str)                # the cause, for the red banner
    commandFailed = QtCore.Signal(str, str)      # command, message for the user
    commandDone = QtCore.Signal(str, object)     # command, StimulatorStatus | None
    pulseSeen = QtCore.Signal(object)            # PulseEvent (the log gets it first, on the driver's thread)
    mepSeen = QtCore.Signal(object)              # the MagPro's own MEP measurement (MepEvent)

    def __init__(self, parent: QtCore.QObject | None = None, *, poll_s: float = 0.5,
                 pulse_sink: PulseSink | None = None) -> None:
        super().__init__(parent)
        self.driver: Stimulator | None = None
        self.description = ""
        self.last: StimulatorStatus | None = None
        self.lost_reason = ""
        #: Called with every delivered pulse ON THE DRIVER'S THREAD, before any Qt signal, so the
        #: pulse log pairs it with the pose without waiting for the GUI (PulsePairer.submit).
        self.pulse_sink = pulse_sink
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stimulator")
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._generation = 0                     # bumped by STOP and disconnect: queued ARM/FIRE dropped
        self._poll = QtCore.QTimer(self)
        self._poll.setInterval(max(50, int(poll_s * 1000)))
        self._poll.timeout.connect(self.poll)
        self.connectionChanged.connect(self._follow_connection)
        self._stop_threads: list[threading.Thread] = []

    # ----- state --------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.driver is not None and not self.lost_reason

    @property
    def armed(self) -> bool:
        return self.last is not None and self.last.connected and self.last.armed

    @property
    def busy(self) -> bool:
        with self._pending_lock:
            return self._pending > 0

    # ----- commands (GUI thread) ------------------------------------------------------------------
    def connect_driver(self, make_driver: DriverFactory, description: str) -> None:
        """Build and connect a driver on the worker thread (returns at once)."""
        self.disconnect_driver()
        self.description = description
        self.lost_reason = ""

        def connect() -> StimulatorStatus:
            driver = make_driver()
            driver.set_pulse_callback(self._on_pulse)
            if hasattr(driver, "set_state_callback"):        # MagPro: pushed frames and link failures
                driver.set_state_callback(self._on_pushed_state)
            if hasattr(driver, "set_mep_callback"):
                driver.set_mep_callback(self.mepSeen.emit)
            if hasattr(driver, "on_fault"):                   # Magstim: keep-alive / link failures
                driver.on_fault = self._on_fault
            self.driver = driver
            try:
                return driver.connect()
            except BaseException:
                self.driver = None
                driver.close()
                raise

        self._submit("connect", connect)

    def set_power(self, percent: int) -> None:
        self._submit("set intensity", lambda d: d.set_power(int(percent)), needs_driver=True)

    def arm(self) -> None:
        """ARM: only from the user's click on the ARM button."""
        gen = self._generation
        self._submit("arm", lambda d: d.arm() if gen == self._generation else None, needs_driver=True)

    def fire(self) -> None:
        """FIRE: only from the user's click on the FIRE button."""
        gen = self._generation

        def fire(d: Stimulator) -> StimulatorStatus | None:
            if gen != self._generation:
                return None
            d.fire()
            return None

        self._submit("fire", fire, needs_driver=True)

    def disarm(self) -> None:
        self._submit("disarm", lambda d: d.disarm(), needs_driver=True)

    def emergency_stop(self) -> None:
        """STOP: disarm now on its own thread (not behind queued commands); queued ARM/FIRE dropped."""
        self._generation += 1
        driver = self.driver
        if driver is None:
            return

        def stop() -> None:
            status = driver.disarm()          # never raises (the Stimulator contract)
            self._status_from_thread(status)

        thread = threading.Thread(target=stop, name="stimulator-stop", daemon=True)
        self._stop_threads = [t for t in self._stop_threads if t.is_alive()] + [thread]
        thread.start()

    def poll(self) -> None:
        """Read the status unless commands are queued (they read it back themselves)."""
        if self.driver is None or self.lost_reason or self.busy:
            return
        self._submit("status", lambda d: d.status(), needs_driver=True, quiet=True)

    def disconnect_driver(self) -> None:
        """Disarm, release remote control and close (on the worker thread; returns at once)."""
        self._generation += 1
        self._poll.stop()
        driver, self.driver = self.driver, None
        if driver is None:
            return

        def close() -> None:
            driver.set_pulse_callback(None)
            driver.close()                    # disarms where the unit can hear it; never raises

        self._executor.submit(close)
        self.last = StimulatorStatus.disconnected(self.description or "stimulator")
        self.statusChanged.emit(self.last)
        self.connectionChanged.emit(False)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Close the driver and wait for the worker (window close, tests)."""
        self.disconnect_driver()
        self._executor.shutdown(wait=True, cancel_futures=False)
        for thread in self._stop_threads:
            thread.join(timeout_s)

    def _follow_connection(self, connected: bool) -> None:
        if connected and self.driver is not None:
            self._poll.start()
        else:
            self._poll.stop()

    # ----- worker side ------------------------------------------------------------------------------
    def _submit(self, name: str, work: Callable[..., Any], *, needs_driver: bool = False,
                quiet: bool = False) -> Future | None:
        if needs_driver and self.driver is None:
            self.commandFailed.emit(name, "No stimulator connected.")
            return None
        with self._pending_lock:
            self._pending += 1

        def run() -> None:
            try:
                if needs_driver:
                    driver = self.driver
                    if driver is None:
                        return
                    result = work(driver)
                else:
                    result = work()
            except StimulatorLinkLost as exc:
                self._lose_link(str(exc))
                self.commandFailed.emit(name, str(exc))
            except (StimulatorError, ValueError, OSError) as exc:
                log.warning("stimulator %s failed: %s", name, exc)
                self.commandFailed.emit(name, str(exc))
                if name == "connect":
                    self.connectionChanged.emit(False)
            except Exception as exc:  # noqa: BLE001 - a driver bug must reach the user, not kill the thread
                log.exception("stimulator %s failed", name)
                self.commandFailed.emit(name, f"{type(exc).__name__}: {exc}")
            else:
                if isinstance(result, StimulatorStatus):
                    self._status_from_thread(result)
                if name == "connect":
                    self.connectionChanged.emit(True)     # queued: starts the poll on the GUI thread
                if not quiet:
                    self.commandDone.emit(name, result)
            finally:
                with self._pending_lock:
                    self._pending -= 1

        return self._executor.submit(run)

    def _status_from_thread(self, status: StimulatorStatus) -> None:
        self.last = status
        self.statusChanged.emit(status)
        if not status.connected or status.fault:
            self._lose_link(status.fault or "the stimulator link was lost")

    def _on_pushed_state(self, status: StimulatorStatus) -> None:
        """MagPro reader/heartbeat thread: a pushed frame, or the link failed."""
        self._status_from_thread(status)

    def _on_fault(self, message: str) -> None:
        """Magstim keep-alive thread: the link is lost (the driver wrote a disarm already)."""
        self._status_from_thread(StimulatorStatus.disconnected(self.description or "magstim", fault=message))

    def _on_pulse(self, event: PulseEvent) -> None:
        sink = self.pulse_sink
        if sink is not None:
            try:
                sink(event)
            except Exception:  # noqa: BLE001 - the log's problem must not stop the driver's reader
                log.exception("pulse log refused a pulse")
        self.pulseSeen.emit(event)

    def _lose_link(self, reason: str) -> None:
        """Any thread. Attempt a disarm (never raises) and say why, once per loss."""
        if self.lost_reason:
            return
        self.lost_reason = reason
        self._generation += 1
        log.warning("stimulator link lost or faulted: %s", reason)
        driver = self.driver
        if driver is not None:
            threading.Thread(target=driver.disarm, name="stimulator-disarm-on-loss", daemon=True).start()
        self.linkLost.emit(reason)
