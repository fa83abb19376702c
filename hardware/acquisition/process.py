"""Process isolation for :class:`tmsnav.hardware.acquisition.core.Acquisition` (``isolation="process"``).

Why: a GUI thread busy with pure-Python work holds the GIL for up to the interpreter's switch
interval (5 ms) at a time, and a polling driver needs several GIL hand-overs per device frame,
so at 250 Hz a driver thread falls behind and device frames are lost (measured in
benchmarks/tracking.py, see docs/hardware-core.md). In a child process the driver polls with its
own GIL; frames are stamped there (``time.monotonic_ns`` is CLOCK_MONOTONIC, shared by all
processes) and come back over a pipe, where the parent's acquisition thread stores them in one
GIL hand-over per batch, so nothing is dropped, only queued. A driver that crashes the
interpreter (e.g. a segfault in a vendor library) kills only the child: the parent marks every
tool DISCONNECTED and starts a new child with back-off.

The child runs an ordinary thread-isolated Acquisition (same reconnect, frame-number and
DISCONNECTED logic) and forwards its frames, state changes, nominal rate and counters.

This module does not import :mod:`tmsnav.hardware.acquisition.core` (no import cycle): the parent hands the
bridge a :class:`BridgeHost` (the few things the bridge may do to it, all public) and a picklable
factory of the child's Acquisition.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import threading
import time
from typing import Any, Callable, Protocol

__all__ = ["BridgeHost", "check_process_isolation", "run_bridge", "child_main"]

log = logging.getLogger("tmsnav.hardware.acquisition")

_CHILD_STOP_TIMEOUT_S = 1.5


class BridgeHost(Protocol):
    """The parent Acquisition as the bridge thread sees it.

    Everything the bridge changes in the parent goes through these methods, so the parent keeps
    its own locking and bookkeeping (``tmsnav.hardware.acquisition.core`` implements it with a small adapter).
    """

    name: str
    reconnect: bool
    backoff_initial_s: float
    backoff_max_s: float

    def child_factory(self) -> Callable[[], Any]:
        """A picklable callable that builds the child's thread-isolated Acquisition."""
        ...

    def process_started(self, proc: Any) -> None:
        """Remember the child process (for ``process_pid``)."""
        ...

    def frames_arrived(self, frames: list[Any]) -> None:
        """Store frames the child measured and notify the parent's subscribers."""
        ...

    def state_changed(self, state: str) -> None:
        """Set the parent's state text (and notify its state subscribers)."""
        ...

    def rate_known(self, rate_hz: float) -> None:
        """The connected device's nominal frame rate."""
        ...

    def stats_arrived(self, stats: Any, restarts: int) -> None:
        """The child's counters; ``restarts`` child restarts are added to its reconnects."""
        ...

    def child_lost(self, reason: str) -> None:
        """The child died or could not start: count the error, mark every tool DISCONNECTED."""
        ...

    def restarting(self) -> None:
        """A new child is about to be started (counted as a reconnect)."""
        ...

    def wait_backoff(self, backoff_s: float, stop: threading.Event) -> None:
        """Wait ``backoff_s`` (showing the countdown) unless ``stop`` is set."""
        ...


def check_process_isolation(make_tracker: Callable[[], Any], clock_ns: Callable[[], int]) -> None:
    """Refuse, with a message that says what to do, what cannot cross a process boundary."""
    if clock_ns is not time.monotonic_ns:
        raise ValueError("isolation='process' stamps frames with the system monotonic clock; "
                         "an injected clock_ns works only with isolation='thread'")
    try:
        pickle.dumps(make_tracker)
    except Exception as exc:  # noqa: BLE001 - pickle raises several types
        raise ValueError("isolation='process' needs a picklable make_tracker, e.g. "
                         "functools.partial(NDITracker, '/dev/ttyUSB0') or a module-level "
                         f"function; this one is not ({exc})") from None


def child_main(make_acquisition: Callable[[], Any], conn: Any, stop_event: Any) -> None:
    """Entry point of the child process: a thread-isolated Acquisition forwarding to ``conn``."""
    lock = threading.Lock()
    broken = threading.Event()

    def send(message: tuple[str, Any]) -> None:
        with lock:
            if broken.is_set():
                return
            try:
                conn.send(message)
            except (OSError, EOFError, ValueError):  # the parent has gone: stop quietly
                broken.set()

    acq = make_acquisition()

    def on_state(state: str) -> None:
        if state == "tracking":  # the rate is known now, before the first frame
            send(("rate", acq.nominal_rate_hz))
        send(("state", state))

    acq.subscribe(lambda frames: send(("frames", frames)))
    unsubscribe_state = acq.subscribe_state(on_state)
    acq.start()
    last_stats = 0.0
    try:
        while not broken.is_set():
            stopping = stop_event.wait(0.05)
            if time.monotonic() - last_stats >= 0.25:
                last_stats = time.monotonic()
                send(("stats", acq.stats))
            if stopping or not acq.running:
                break
    finally:
        final = acq.state
        unsubscribe_state()
        acq.stop()
        send(("stats", acq.stats))
        send(("final", final))
        conn.close()


def _handle(host: BridgeHost, message: tuple[str, Any], restarts: int) -> str | None:
    kind, payload = message
    if kind == "frames":
        for f in payload:  # pickling loses the read-only flag: restore it
            if f.tracker_from_tool is not None:
                f.tracker_from_tool.setflags(write=False)
        host.frames_arrived(payload)
    elif kind == "state":
        host.state_changed(payload)
    elif kind == "rate":
        host.rate_known(float(payload))
    elif kind == "stats":
        host.stats_arrived(payload, restarts)
    elif kind == "final":
        if str(payload).startswith("disconnected"):
            host.state_changed(str(payload))
        return str(payload)
    return None


def _pump(host: BridgeHost, receiver: Any, proc: Any, restarts: int,
          stop: threading.Event) -> str | None:
    """Relay child messages until the parent stops or the child ends; the child's final state."""
    while not stop.is_set():
        try:
            if receiver.poll(0.05):
                final = _handle(host, receiver.recv(), restarts)
                if final is not None:
                    return final
            elif not proc.is_alive():
                return None
        except (EOFError, OSError):
            return None
    return None


def run_bridge(host: BridgeHost, stop: threading.Event) -> None:
    """Body of the parent's acquisition thread with ``isolation="process"``."""
    ctx = mp.get_context("spawn")  # fork is unsafe in a process with GUI threads
    make_acquisition = host.child_factory()
    backoff, restarts = host.backoff_initial_s, 0
    while not stop.is_set():
        receiver, sender = ctx.Pipe(duplex=False)
        stop_event = ctx.Event()
        proc = ctx.Process(target=child_main, name=f"acquisition-{host.name}", daemon=True,
                           args=(make_acquisition, sender, stop_event))
        host.state_changed("connecting")
        host.process_started(proc)
        try:
            proc.start()
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory, no spawn possible
            final, reason = None, f"cannot start the acquisition process: {exc}"
        else:
            started = time.monotonic()
            final = _pump(host, receiver, proc, restarts, stop)
            if time.monotonic() - started > 10 * host.backoff_max_s:
                backoff = host.backoff_initial_s  # it ran well for a while: start over gently
            reason = ""
        finally:
            sender.close()
        if stop.is_set():
            stop_event.set()
            while final is None and proc.is_alive():
                try:
                    if not receiver.poll(_CHILD_STOP_TIMEOUT_S):
                        break
                    final = _handle(host, receiver.recv(), restarts)
                except (EOFError, OSError):
                    break
            proc.join(_CHILD_STOP_TIMEOUT_S)
            if proc.is_alive():
                log.error("%s: acquisition process did not stop; terminating it", host.name)
                proc.terminate()
                proc.join(1.0)
            receiver.close()
            return
        receiver.close()
        proc.join(1.0)
        if final is not None and final.startswith("disconnected"):
            return  # the child gave up by itself (reconnect=False): its state is the answer
        if not reason:
            reason = f"acquisition process died (exit code {proc.exitcode})"
        host.child_lost(reason)
        if not host.reconnect:
            return
        restarts += 1
        host.restarting()
        host.wait_backoff(backoff, stop)
        backoff = min(backoff * 2, host.backoff_max_s)
