"""File > Open sample fMRI run: the demo of the fMRI target on the sample head.

It opens the sample head if another image (or none) is open, writes the synthetic resting-state
run (``tmsnav.navigation.connectivity.sample_run``, with a planted anticorrelated DLPFC cluster)
into the user cache folder in a job, fills the tab's inputs with it and computes the target, so
the result box can say how far the method's target is from the planted one. The run is written
to a temporary folder and renamed into place: a cancelled or failed write leaves no half run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from tmsnav.navigation.progress import CancelToken, ProgressCallback, report

from .compute_job import InputChoice

__all__ = ["open_sample_run", "write_sample_into_cache", "when_idle", "SAMPLE_VOLUMES"]

#: Volumes of the sample run (TR 2 s: 6.7 minutes, above the 5 minutes of kept data the method
#: asks for before it warns).
SAMPLE_VOLUMES = 200


def write_sample_into_cache(variant: str, *, progress: ProgressCallback | None = None,
                            cancel: CancelToken | None = None) -> Any:
    """Write the sample run under ``<user cache>/sample-fmri/<variant>`` (replacing an older
    one) and return its SampleTruth."""
    from tmsnav.navigation.connectivity.sample_run import write_sample_run
    from tmsnav.navigation.surfaces.cache import user_cache_dir

    def step(fraction: float, message: str) -> None:
        report(progress, 0.95 * fraction, message, cancel)     # raises Cancelled when asked

    base = user_cache_dir() / "sample-fmri"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=base))
    final = base / variant
    try:
        truth = write_sample_run(work, variant=variant, n_volumes=SAMPLE_VOLUMES, progress=step)
        report(progress, 0.97, "Putting the sample run in place", cancel)
        old = base / f".{variant}-old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return _moved(truth, work, final)


def _moved(truth: Any, old: Path, new: Path) -> Any:
    """The truth with every path under ``old`` re-rooted under ``new``."""
    for name, value in list(vars(truth).items()):
        if isinstance(value, Path):
            try:
                setattr(truth, name, new / value.relative_to(old))
            except ValueError:
                continue
    return truth


def when_idle(window: Any, start: Any, timeout_ms: int = 600_000) -> None:
    """Call ``start()`` once the window's job runner has no job (not just a finished thread: the
    runner forgets its job one event later, and a job started before that would be waited on)."""
    timer = QtCore.QElapsedTimer()
    timer.start()

    def poll() -> None:
        if window.jobs.job is None:
            start()
        elif timer.elapsed() < timeout_ms:
            QtCore.QTimer.singleShot(20, poll)

    poll()


def open_sample_run(panel: Any, variant: str = "fmriprep", compute: bool = True) -> None:
    """The menu item (see the module docstring); ``variant`` "fmriprep" (fast) or "raw"."""
    window = panel.main
    head = panel.state.head
    if window.jobs.busy:
        window.show_error("Busy", "Another operation is still running; wait or cancel it first.")
        return
    if head is None or not getattr(head, "is_sample", False):
        window.headLoaded.connect(lambda _h: when_idle(window, lambda: open_sample_run(panel, variant, compute)),
                                  QtCore.Qt.ConnectionType.SingleShotConnection)
        window.open_sample_head()
        return

    def written(truth: Any) -> None:
        if panel.state.head is not head:
            return
        panel.sample_truth = truth
        if variant == "fmriprep":
            choice = InputChoice("fmriprep", str(truth.root), participant=truth.subject)
        else:
            choice = InputChoice("bold", str(truth.bold_path),
                                 sidecar=str(truth.sidecar_path) if truth.sidecar_path else None)
        panel.inputs.set_choice(choice)
        window.panels.setCurrentWidget(panel)
        if compute:
            when_idle(window, panel.compute)

    window.jobs.run(lambda progress, cancel: write_sample_into_cache(variant, progress=progress, cancel=cancel),
                    "Writing the sample fMRI run", written)
