"""``tmsnav-target``: personalised targets from the command line, for batch work without the GUI.

Subcommands:

* ``connectivity``: the sgACC-anticorrelated DLPFC target from resting-state fMRI (Fox et al. 2012,
  Biol Psychiatry 72:595; Cash et al. 2021, Hum Brain Mapp 42:4155), for one BOLD file
  (``--t1`` required) or for the subjects of a BIDS / fMRIPrep folder (``--participant-label``),
  on local processes (``--jobs``) or a Dask cluster (``--scheduler``);
* ``qeeg``: the qEEG measures (``tmsnav.navigation.eeg.cli``; imported only when asked for, so
  this command does not pay for MNE's import and works without it).

Exit codes: 0 every run gave a target; 1 some runs of a batch failed (each has ``error.txt``);
2 bad input (one line on stderr, nothing written for it); 3 an internal error (a bug).
Nothing the CLI prints names a patient: runs are named by the BIDS label the user passed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main", "build_parser", "CliInputError"]

PROG = "tmsnav-target"
LABEL = re.compile(r"^[A-Za-z0-9]+$")          # BIDS: a label is alphanumeric
SCHEDULER = re.compile(r"^(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?$")


class CliInputError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage block) and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _add_connectivity(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("input", help="a 4-D BOLD NIfTI file, or a BIDS / fMRIPrep folder")
    sub.add_argument("-o", "--output", required=True, help="output folder (one sub-<label> folder per subject)")
    sub.add_argument("--t1", help="the patient's T1 (required with a BOLD file; the target is placed on it)")
    sub.add_argument("--confounds", help="fMRIPrep confounds TSV: the BOLD file is then taken as preprocessed")
    sub.add_argument("--sidecar", help="BIDS JSON sidecar of the BOLD file (default: the .json beside it)")
    sub.add_argument("--participant-label", nargs="+", metavar="LABEL",
                     help="subjects of the folder to process (default: all); 'sub-' prefix optional")
    sub.add_argument("--task", help="BIDS task of the run to use (default: the first run found, 'rest' first)")
    par = sub.add_mutually_exclusive_group()
    par.add_argument("--jobs", type=int, metavar="N",
                     help="local worker processes (default: one per CPU, at most one per subject)")
    par.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    m = sub.add_argument_group("method")
    m.add_argument("--method", choices=("cluster", "peak"), default="cluster",
                   help="cluster: centre of the largest cluster of the most anticorrelated voxels (Cash 2021); "
                        "peak: the single most anticorrelated voxel (for comparison)")
    m.add_argument("--seed-radius", type=float, default=10.0, metavar="MM", help="sgACC seed sphere radius (mm)")
    m.add_argument("--percentile", type=float, default=10.0,
                   help="per cent of the most negative voxels kept for the cluster (default 10)")
    m.add_argument("--smoothing-fwhm", type=float, default=4.0, metavar="MM", help="spatial smoothing (mm FWHM)")
    m.add_argument("--fd-threshold", type=float, default=0.5, metavar="MM",
                   help="scrub volumes with framewise displacement above this (mm, Power 2012)")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; the qeeg subcommand's options are loaded only when ``argv`` asks for it."""
    parser = _Parser(prog=PROG, description="Personalised TMS targets from a patient's fMRI or EEG (batch).")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_connectivity(subs.add_parser("connectivity", help="sgACC-anticorrelated DLPFC target from rs-fMRI",
                                      description=__doc__.split("\n\n")[1] if __doc__ else None))
    qeeg = subs.add_parser("qeeg", help="qEEG measures and target (tmsnav-target qeeg --help)")
    if list(argv[:1]) == ["qeeg"]:
        try:
            module = importlib.import_module("tmsnav.navigation.eeg.cli")
        except ImportError as exc:
            raise CliInputError(f"the qeeg command is not available in this installation ({exc})") from exc
        module.add_arguments(qeeg)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(args_list)
        args = parser.parse_args(args_list)
        if args.command == "qeeg":
            return int(importlib.import_module("tmsnav.navigation.eeg.cli").run(args))
        return _connectivity(args)
    except CliInputError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted; finished runs are in place, unfinished ones left nothing\n")
        return 130
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    except Exception as exc:        # a bug: one line, no traceback
        from .errors import NavigationError

        if isinstance(exc, NavigationError):
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            return 2
        sys.stderr.write(f"{PROG}: internal error (please report): {type(exc).__name__}: {exc}\n")
        return 3


def _params(args: argparse.Namespace) -> dict:
    from .connectivity.method_errors import ConnectivityError
    from .connectivity.params import ConnectivityParams

    try:
        params = ConnectivityParams(method=args.method, seed_radius_mm=args.seed_radius, percentile=args.percentile,
                                    smoothing_fwhm_mm=args.smoothing_fwhm, fd_threshold_mm=args.fd_threshold)
    except ConnectivityError as exc:
        raise CliInputError(str(exc)) from exc
    return params.to_dict()


def _existing_file(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise CliInputError(f"{what} must be a file, but a folder was given")
    if not path.is_file():
        raise CliInputError(f"{what} not found: {value}")
    return str(path)


def _connectivity(args: argparse.Namespace) -> int:
    from .connectivity.batch import BatchError, SubjectJob, run_batch

    source = Path(args.input)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CliInputError("the output (-o) is a file; give a folder")
    if not source.exists():
        raise CliInputError(f"input not found: {args.input}")
    if args.jobs is not None and args.jobs < 1:
        raise CliInputError(f"--jobs must be 1 or more, got {args.jobs}")
    if args.scheduler and not SCHEDULER.match(args.scheduler):
        raise CliInputError(f"--scheduler must be an address like tcp://host:8786, got {args.scheduler!r}")
    params = _params(args)
    if source.is_file():
        if args.participant_label:
            raise CliInputError("--participant-label selects subjects of a BIDS/fMRIPrep folder, but a file was given")
        if not args.t1:
            raise CliInputError("a BOLD file needs --t1 T1.nii.gz (the patient's T1 the target is placed on)")
        job = SubjectJob("file", str(out), params, bold=str(source), t1=_existing_file(args.t1, "--t1"),
                         confounds=_existing_file(args.confounds, "--confounds"),
                         sidecar=_existing_file(args.sidecar, "--sidecar"))
        outcome = run_batch([job])[0]
        print(outcome.line(), file=sys.stdout if outcome.ok else sys.stderr)
        return 0 if outcome.ok else 2
    for flag, value in (("--confounds", args.confounds), ("--sidecar", args.sidecar)):
        if value:
            raise CliInputError(f"{flag} goes with a BOLD file; a folder's files are found by their BIDS names")
    if args.t1:
        _existing_file(args.t1, "--t1")
    jobs = _folder_jobs(source, args, params, out)
    n_local = args.jobs or max(1, min(os.cpu_count() or 1, len(jobs)))
    where = (f"the Dask cluster at {args.scheduler}" if args.scheduler
             else f"{min(n_local, len(jobs))} local process(es)")
    print(f"{len(jobs)} run(s) on {where}", file=sys.stderr)
    try:
        outcomes = run_batch(jobs, n_jobs=n_local, scheduler=args.scheduler,
                             on_done=lambda o: print(o.line(), file=sys.stdout if o.ok else sys.stderr, flush=True))
    except BatchError as exc:
        raise CliInputError(str(exc)) from exc
    _write_summary(out, outcomes)
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} run(s) gave a target"
          + (f"; failed: {', '.join(f'sub-{o.label}' for o in failed)} (see their error.txt)" if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0


def _labels(args: argparse.Namespace, found: list[str]) -> list[str]:
    if not args.participant_label:
        if not found:
            raise CliInputError("no sub-<label> folders with functional runs in the input folder")
        return found
    labels = []
    for raw in args.participant_label:
        label = raw[4:] if raw.startswith("sub-") else raw
        if not LABEL.match(label):
            raise CliInputError(f"participant label {raw!r} is not a BIDS label (letters and digits only)")
        if label not in labels:
            labels.append(label)
    missing = [lab for lab in labels if lab not in found]
    if missing:
        raise CliInputError(f"no functional run for sub-{', sub-'.join(missing)} in the input folder "
                            f"(found: {', '.join('sub-' + f for f in found) or 'none'})")
    return labels


def _fmriprep_root(folder: Path) -> Path | None:
    for root in (folder, folder / "derivatives" / "fmriprep"):
        if any(root.glob("sub-*/**/func/*desc-preproc_bold.nii*")):
            return root
    return None


def _subjects_with(root: Path, pattern: str) -> list[str]:
    found = set()
    for path in root.glob(f"sub-*/**/func/{pattern}"):
        part = next((p for p in path.relative_to(root).parts if p.startswith("sub-")), None)
        if part and LABEL.match(part[4:]):
            found.add(part[4:])
    return sorted(found)


def _folder_jobs(folder: Path, args: argparse.Namespace, params: dict, out: Path) -> list:
    from .connectivity.batch import SubjectJob

    fmriprep = _fmriprep_root(folder)
    pattern = "*desc-preproc_bold.nii*" if fmriprep is not None else "*_bold.nii*"
    labels = _labels(args, _subjects_with(fmriprep or folder, pattern))
    if args.t1 and len(labels) > 1:
        raise CliInputError("--t1 with a folder is for one subject; each subject's T1 is found in its anat folder")
    if fmriprep is not None:
        return [SubjectJob("fmriprep", str(out / f"sub-{lab}"), params, label=lab, folder=str(fmriprep),
                           task=args.task, t1=args.t1) for lab in labels]
    jobs = []
    for lab in labels:      # a subject with missing files fails alone; the others still run
        try:
            bold, t1, problem = *_raw_bids_files(folder, lab, args.task, bool(args.t1)), None
        except CliInputError as exc:
            bold, t1, problem = None, None, str(exc)
        jobs.append(SubjectJob("bids", str(out / f"sub-{lab}"), params, label=lab, folder=str(folder),
                               bold=bold, t1=args.t1 or t1, task=args.task, problem=problem))
    return jobs


def _raw_bids_files(folder: Path, label: str, task: str | None, t1_given: bool) -> tuple[str, str | None]:
    """The subject's raw BOLD (task ``task``, or ``rest`` first) and T1w in a BIDS folder."""
    subject = folder / f"sub-{label}"
    bolds = sorted(p for p in subject.glob("**/func/*_bold.nii*") if "desc-" not in p.name)
    if task:
        bolds = [p for p in bolds if f"_task-{task}_" in p.name]
    bolds.sort(key=lambda p: "_task-rest_" not in p.name)
    t1s = sorted(p for p in subject.glob("**/anat/*_T1w.nii*"))
    if not bolds:
        raise CliInputError(f"sub-{label} has no BOLD run{f' of task {task}' if task else ''} in its func folder")
    if not t1s and not t1_given:
        raise CliInputError(f"sub-{label} has no T1w image in its anat folder (or give --t1 for one subject)")
    return str(bolds[0]), (str(t1s[0]) if t1s else None)


def _write_summary(out: Path, outcomes: list) -> None:
    """``summary.tsv``: one row per run, written to a temporary name and renamed."""
    import math

    out.mkdir(parents=True, exist_ok=True)
    head = ["participant_id", "status", "target_mri_x", "target_mri_y", "target_mri_z", "target_mni_x",
            "target_mni_y", "target_mni_z", "correlation", "stability_mm", "n_warnings", "message"]
    rows = ["\t".join(head)]
    for o in outcomes:
        nums = [*(o.target_mri_mm or [math.nan] * 3), *(o.target_mni_mm or [math.nan] * 3), o.correlation,
                o.stability_mm]
        cells = [f"sub-{o.label}", "ok" if o.ok else "failed",
                 *("n/a" if not math.isfinite(v) else f"{v:.2f}" for v in nums),
                 str(len(o.warnings)), o.message.replace("\t", " ").replace("\n", " ") or "n/a"]
        rows.append("\t".join(cells))
    tmp = out / ".summary.tsv.partial"
    tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tmp.replace(out / "summary.tsv")


if __name__ == "__main__":
    sys.exit(main())
