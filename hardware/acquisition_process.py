"""Process isolation for :class:`hardware.acquisition.Acquisition` (``isolation="process"``).

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
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .acquisition import Acquisition

__all__ = ["check_process_isolation", "run_bridge", "child_main"]

log = logging.getLogger("tmsnav.hardware.acquisition")

_CHILD_STOP_TIMEOUT_S = 1.5


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


def child_main(make_tracker: Callable[[], Any], conn: Any, stop_event: Any,
               options: dict[str, Any]) -> None:
    """Entry point of the child process: a thread-isolated Acquisition forwarding to ``conn``."""
    from .acquisition import Acquisition

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

    acq = Acquisition(make_tracker, **options)

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


def _handle(acq: "Acquisition", message: tuple[str, Any], restarts: int) -> str | None:
    kind, payload = message
    if kind == "frames":
        for f in payload:  # pickling loses the read-only flag: restore it
            if f.tracker_from_tool is not None:
                f.tracker_from_tool.setflags(write=False)
        acq._store(payload)
    elif kind == "state":
        acq._set_state(payload)
    elif kind == "rate":
        with acq._lock:
            acq._rate_hz = float(payload)
    elif kind == "stats":
        with acq._lock:
            acq._stats = payload.copy(reconnects=payload.reconnects + restarts,
                                      callback_errors=acq._stats.callback_errors)
    elif kind == "final":
        if str(payload).startswith("disconnected"):
            acq._set_state(str(payload))
        return str(payload)
    return None


def _pump(acq: "Acquisition", receiver: Any, proc: Any, restarts: int,
          stop: threading.Event) -> str | None:
    """Relay child messages until the parent stops or the child ends; the child's final state."""
    while not stop.is_set():
        try:
            if receiver.poll(0.05):
                final = _handle(acq, receiver.recv(), restarts)
                if final is not None:
                    return final
            elif not proc.is_alive():
                return None
        except (EOFError, OSError):
            return None
    return None


def run_bridge(acq: "Acquisition", stop: threading.Event) -> None:
    """Body of the parent's acquisition thread with ``isolation="process"``."""
    ctx = mp.get_context("spawn")  # fork is unsafe in a process with GUI threads
    options = dict(name=acq.name, reconnect=acq.reconnect, buffer_seconds=acq.buffer_seconds,
                   staleness_periods=acq.staleness_periods, max_staleness_s=acq.max_staleness_s,
                   read_timeout_s=acq.read_timeout_s, backoff_initial_s=acq.backoff_initial_s,
                   backoff_max_s=acq.backoff_max_s)
    backoff, restarts = acq.backoff_initial_s, 0
    while not stop.is_set():
        receiver, sender = ctx.Pipe(duplex=False)
        stop_event = ctx.Event()
        proc = ctx.Process(target=child_main, name=f"acquisition-{acq.name}", daemon=True,
                           args=(acq._make_tracker, sender, stop_event, options))
        acq._set_state("connecting")
        acq._process = proc
        try:
            proc.start()
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory, no spawn possible
            final, reason = None, f"cannot start the acquisition process: {exc}"
        else:
            started = time.monotonic()
            final = _pump(acq, receiver, proc, restarts, stop)
            if time.monotonic() - started > 10 * acq.backoff_max_s:
                backoff = acq.backoff_initial_s  # it ran well for a while: start over gently
            reason = ""
        finally:
            sender.close()
        if stop.is_set():
            stop_event.set()
            while final is None and proc.is_alive():
                try:
                    if not receiver.poll(_CHILD_STOP_TIMEOUT_S):
                        break
                    final = _handle(acq, receiver.recv(), restarts)
                except (EOFError, OSError):
                    break
            proc.join(_CHILD_STOP_TIMEOUT_S)
            if proc.is_alive():
                log.error("%s: acquisition process did not stop; terminating it", acq.name)
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
        acq._record_error(reason, RuntimeError(reason))
        acq._mark_disconnected(reason)
        if not acq.reconnect:
            return
        restarts += 1
        with acq._lock:
            acq._stats.reconnects += 1
        acq._wait_backoff(backoff, stop)
        backoff = min(backoff * 2, acq.backoff_max_s)
