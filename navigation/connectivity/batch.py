"""Connectivity targets for many runs: one self-contained job per run, on local processes or Dask.

Why jobs are plain picklable records run by a module-level function: the same :func:`run_subject`
then runs in a ``concurrent.futures.ProcessPoolExecutor`` (the default: no extra service, uses
the cores of one machine) and on a Dask distributed cluster (``--scheduler tcp://host:port``: a
research site with hundreds of runs spreads them over many machines; Rocklin 2015, Proc. SciPy,
"Dask: parallel computation with blocked algorithms and task scheduling"). Each job reads its own
inputs, computes its MNI registration through the user cache, and writes its own output folder,
so workers share nothing but the file system.

A failing run never stops the batch: its message goes to ``<OUT>/sub-<label>/error.txt`` and to
the returned :class:`SubjectOutcome`. Messages name the run by the BIDS label the user passed, never
by a patient name or file name.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import NavigationError

__all__ = ["SubjectJob", "SubjectOutcome", "run_subject", "run_batch", "BatchError"]


class BatchError(NavigationError):
    """The batch itself cannot run (e.g. the Dask scheduler cannot be reached)."""


@dataclass(frozen=True)
class SubjectJob:
    """One run to process. ``kind``: "fmriprep" (``folder`` + ``label``), "bids" (raw BIDS:
    ``bold`` + ``t1`` found in ``folder``) or "file" (``bold`` + ``t1`` given by the user)."""

    kind: str
    out_dir: str
    params: dict
    label: str | None = None
    folder: str | None = None
    bold: str | None = None
    t1: str | None = None
    confounds: str | None = None
    sidecar: str | None = None
    task: str | None = None
    problem: str | None = None     # found while looking for its files: the job fails with it


@dataclass
class SubjectOutcome:
    """What one job gave: the target or the error (``message`` is one line for the user)."""

    label: str | None
    ok: bool
    out_dir: str
    message: str = ""
    target_mri_mm: list[float] = field(default_factory=list)
    target_mni_mm: list[float] = field(default_factory=list)
    correlation: float = float("nan")
    stability_mm: float = float("nan")
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        """One log line (BIDS label only, no paths)."""
        who = f"sub-{self.label}" if self.label else "run"
        if not self.ok:
            return f"{who}: FAILED: {self.message}"
        mri = ", ".join(f"{v:.1f}" for v in self.target_mri_mm)
        mni = ", ".join(f"{v:.1f}" for v in self.target_mni_mm)
        stab = "n/a" if not np.isfinite(self.stability_mm) else f"{self.stability_mm:.1f} mm"
        warn = f"; {len(self.warnings)} warning(s): " + " | ".join(self.warnings) if self.warnings else ""
        return (f"{who}: target mri ({mri}) mm, MNI ({mni}) mm, r = {self.correlation:.2f}, "
                f"halves {stab} apart ({self.seconds:.0f} s){warn}")


def _load_t1(path: str) -> Any:
    from ..imaging.volume import load_volume

    return load_volume(path)


def _mri_from_mni(t1: Any) -> Any:
    from ..targeting.mni_registration import cached_register_to_mni

    return cached_register_to_mni(t1).mri_from_mni


def _prepare(job: SubjectJob, fd_threshold_mm: float) -> tuple[Any, Any]:
    """``(PreparedBold, T1 volume or None)`` for a job, with tmsnav's MNI registration of the T1."""
    from . import inputs

    if job.kind == "fmriprep":
        assert job.folder is not None
        t1_path = job.t1 or find_fmriprep_t1(Path(job.folder), job.label)
        t1 = _load_t1(t1_path) if t1_path else None
        mri_from_mni = _mri_from_mni(t1) if t1 is not None else None
        prepared = inputs.prepare_fmriprep(job.folder, job.label, t1_image=t1, mri_from_mni=mri_from_mni,
                                           task=job.task, fd_threshold_mm=fd_threshold_mm)
        return prepared, t1
    assert job.bold is not None and job.t1 is not None
    t1 = _load_t1(job.t1)
    prepared = inputs.prepare_bold_file(job.bold, t1_volume=t1, mri_from_mni=_mri_from_mni(t1),
                                        confounds_tsv=job.confounds, sidecar=job.sidecar,
                                        fd_threshold_mm=fd_threshold_mm)
    return prepared, t1


def run_subject(job: SubjectJob) -> SubjectOutcome:
    """Process one run end to end and write its outputs (or ``error.txt``); never raises for a
    problem with the run, so one bad run cannot stop a batch."""
    from .method import compute_connectivity
    from .outputs import write_error, write_outputs
    from .params import ConnectivityParams

    started = time.perf_counter()
    try:
        if job.problem:
            raise NavigationError(job.problem)
        params = ConnectivityParams.from_dict(job.params)
        prepared, t1 = _prepare(job, params.fd_threshold_mm)
        result = compute_connectivity(prepared, params)
        background = None
        if t1 is not None:
            background = (np.asarray(t1.data), np.asarray(getattr(t1.mri_from_voxel, "matrix", t1.mri_from_voxel)))
        record = {"subject": job.label, "input": job.kind}
        write_outputs(result, job.out_dir, record=record, background=background,
                      mri_from_space=prepared.mri_from_space)
        data = result.to_json_dict()
        return SubjectOutcome(job.label, True, job.out_dir, "", data["target_mri_mm"], data["target_mni_mm"],
                              float(result.correlation_at_target), float(result.stability_mm),
                              list(result.warnings), time.perf_counter() - started)
    except NavigationError as exc:
        message = str(exc) or type(exc).__name__
    except MemoryError:
        message = "out of memory while processing this run"
    except Exception as exc:    # a bug, not the data: say so, keep the batch going
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
        message = f"internal error (please report): {type(exc).__name__}: {exc}{where}"
    try:
        write_error(job.out_dir, message)
    except OSError as exc:
        message += f" (and error.txt could not be written: {exc.strerror})"
    return SubjectOutcome(job.label, False, job.out_dir, message, seconds=time.perf_counter() - started)


def find_fmriprep_t1(folder: Path, label: str | None) -> str | None:
    """The subject's preprocessed T1 in an fMRIPrep folder (``anat/*desc-preproc_T1w.nii*``, not an
    MNI-space one), or None."""
    if label is None:
        return None
    for root in (folder, folder / "derivatives" / "fmriprep"):
        hits = sorted(p for p in (root / f"sub-{label}").glob("**/anat/*desc-preproc_T1w.nii*")
                      if "space-" not in p.name)
        if hits:
            return str(hits[0])
    return None


def run_batch(jobs: Iterable[SubjectJob], *, n_jobs: int = 1, scheduler: str | None = None,
              on_done: Callable[[SubjectOutcome], None] | None = None) -> list[SubjectOutcome]:
    """Run every job; outcomes in the jobs' order. ``scheduler``: a Dask address
    (``tcp://host:port``); else ``n_jobs`` local processes (1: in this process)."""
    jobs = list(jobs)
    if scheduler:
        return _run_dask(jobs, scheduler, on_done)
    if n_jobs <= 1 or len(jobs) <= 1:
        outcomes = []
        for job in jobs:
            outcome = run_subject(job)
            if on_done:
                on_done(outcome)
            outcomes.append(outcome)
        return outcomes
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # "spawn": a fresh interpreter per worker. fork would copy the parent's threads (BLAS, Dask,
    # Qt when called from the app) in whatever state they are, which can deadlock a child.
    context = multiprocessing.get_context("spawn")
    results: dict[int, SubjectOutcome] = {}
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(run_subject, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:     # the worker process died (killed, out of memory)
                outcome = SubjectOutcome(jobs[i].label, False, jobs[i].out_dir,
                                         f"the worker process stopped: {type(exc).__name__}: {exc}")
                _try_write_error(jobs[i].out_dir, outcome.message)
            results[i] = outcome
            if on_done:
                on_done(outcome)
    return [results[i] for i in range(len(jobs))]


def _try_write_error(out_dir: str, message: str) -> None:
    from .outputs import write_error

    try:
        write_error(out_dir, message)
    except OSError:
        pass


def _run_dask(jobs: list[SubjectJob], scheduler: str, on_done: Callable[[SubjectOutcome], None] | None
              ) -> list[SubjectOutcome]:
    """One Dask task per run on the cluster at ``scheduler``; the client is closed at the end."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise BatchError("--scheduler needs the 'distributed' package (pip install 'dask[distributed]')") from exc
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        futures = client.map(run_subject, jobs, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: dict[int, SubjectOutcome] = {}
        for future in as_completed(futures):
            i = index[future.key]
            try:
                outcome = future.result()
            except Exception as exc:     # the task itself failed (a worker died)
                outcome = SubjectOutcome(jobs[i].label, False, jobs[i].out_dir,
                                         f"the Dask task failed: {type(exc).__name__}: {exc}")
                _try_write_error(jobs[i].out_dir, outcome.message)
            results[i] = outcome
            if on_done:
                on_done(outcome)
        return [results[i] for i in range(len(jobs))]
    finally:
        client.close()
