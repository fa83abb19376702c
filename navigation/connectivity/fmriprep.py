"""Find one subject's functional derivatives in an fMRIPrep / BIDS folder.

File names follow the BIDS derivatives conventions fMRIPrep writes (Esteban et al. 2019, Nat
Methods 16:111; fMRIPrep docs, "Outputs of fMRIPrep"):

``sub-<label>/[ses-<s>/]func/sub-<label>[_ses-<s>]_task-<t>[_run-<r>]_space-<space>[_res-<n>]_desc-preproc_bold.nii.gz``
beside ``..._desc-confounds_timeseries.tsv`` (no space entity), ``..._space-<space>_desc-brain_mask.nii.gz``
and ``..._desc-preproc_bold.json``; the anatomy in ``sub-<label>/[ses-<s>/]anat/``:
``*_desc-preproc_T1w.nii.gz`` and ``*_from-T1w_to-MNI152..._mode-image_xfm.h5``.

A run in the subject's ``T1w`` space is preferred to an MNI one: it needs no inverse warp to put
the target on the patient's head. The folder given may be the fMRIPrep output itself, a BIDS
root holding ``derivatives/fmriprep`` (or ``derivatives/<anything>`` with such files), or a
subject folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .bold_file import FunctionalInputError

__all__ = ["FmriprepRun", "find_fmriprep_run", "list_subjects"]

_BOLD = re.compile(r"^(?P<prefix>sub-[A-Za-z0-9]+(?:_[a-z]+-[A-Za-z0-9]+)*?)_space-(?P<space>[A-Za-z0-9]+)"
                   r"(?P<extra>(?:_[a-z]+-[A-Za-z0-9]+)*?)_desc-preproc_bold\.nii(?:\.gz)?$")


@dataclass
class FmriprepRun:
    """The files of one preprocessed run (``None`` where fMRIPrep did not write one)."""

    subject: str
    bold: Path
    space: str                      # "T1w" or an MNI template name such as "MNI152NLin2009cAsym"
    confounds: Path
    brain_mask: Path | None
    sidecar: Path | None
    anat_t1w: Path | None
    xfm_t1w_to_mni: Path | None
    others: list[str] = field(default_factory=list)   # other matching runs, not used (names only)


def _root_candidates(folder: Path) -> list[Path]:
    roots = [folder]
    derivatives = folder / "derivatives"
    if derivatives.is_dir():
        roots += [derivatives / "fmriprep"] + sorted(p for p in derivatives.iterdir() if p.is_dir())
    return [r for r in roots if r.is_dir()]


def list_subjects(folder: Path) -> list[str]:
    """Subject labels (without ``sub-``) that have a ``func`` folder with a preprocessed BOLD."""
    found = set()
    for root in _root_candidates(folder):
        for sub in root.glob("sub-*"):
            if sub.is_dir() and any(sub.glob("**/func/*_desc-preproc_bold.nii*")):
                found.add(sub.name[4:])
    if folder.name.startswith("sub-") and any(folder.glob("**/func/*_desc-preproc_bold.nii*")):
        found.add(folder.name[4:])
    return sorted(found)


def _subject_dir(folder: Path, label: str) -> Path | None:
    if folder.name == f"sub-{label}":
        return folder
    for root in _root_candidates(folder):
        candidate = root / f"sub-{label}"
        if candidate.is_dir() and any(candidate.glob("**/func/*_desc-preproc_bold.nii*")):
            return candidate
    return None


def _space_rank(space: str) -> int:
    if space == "T1w":
        return 0
    if space.startswith("MNI152NLin2009c"):      # fMRIPrep's default; the same family as tmsnav's template
        return 1
    if space.startswith("MNI152"):
        return 2
    return 9                                      # fsnative, fsaverage, T2w ...: not a volume we use


def find_fmriprep_run(folder: str | Path, participant_label: str | None = None,
                      task: str | None = None) -> FmriprepRun:
    """The preferred preprocessed run of one subject; every failure names what *was* found."""
    root = Path(folder)
    if root.is_file():
        raise FunctionalInputError(
            f"{root.name} is a file; the fMRIPrep input is the derivatives folder (give a BOLD file "
            "through the BOLD-file input instead)")
    if not root.is_dir():
        raise FunctionalInputError(f"the folder {root.name} does not exist")
    subjects = list_subjects(root)
    if participant_label is None:
        if len(subjects) != 1:
            raise FunctionalInputError(
                f"{root.name} holds {len(subjects)} subjects with preprocessed BOLD "
                f"({', '.join(subjects[:20]) or 'none'}): choose one with the participant label")
        label = subjects[0]
    else:
        label = participant_label[4:] if participant_label.startswith("sub-") else participant_label
    subject_dir = _subject_dir(root, label)
    if subject_dir is None:
        raise FunctionalInputError(
            f"no preprocessed BOLD for sub-{label} in {root.name}; subjects found: "
            f"{', '.join(subjects[:20]) or 'none (is this an fMRIPrep output folder?)'}")
    candidates = []
    seen = []
    for path in sorted(subject_dir.glob("**/func/*_desc-preproc_bold.nii*")):
        match = _BOLD.match(path.name)
        seen.append(path.name)
        if not match or _space_rank(match["space"]) > 2:
            continue
        if task is not None and f"_task-{task}_" not in f"{match['prefix']}_":
            continue
        candidates.append((_space_rank(match["space"]), path, match))
    if not candidates:
        wanted = f" for task {task}" if task else ""
        raise FunctionalInputError(
            f"sub-{label} has no preprocessed BOLD in T1w or MNI152 space{wanted}; found: "
            f"{', '.join(seen) or 'nothing in func/'}")
    candidates.sort(key=lambda c: (c[0], c[1].name))
    _, bold, match = candidates[0]
    stem = bold.name.split(".nii")[0]
    confounds = bold.with_name(f"{match['prefix']}_desc-confounds_timeseries.tsv")
    if not confounds.is_file():
        present = sorted(p.name for p in bold.parent.glob("*confounds*"))
        raise FunctionalInputError(
            f"{bold.name} has no confounds file {confounds.name} beside it "
            f"(confounds files found: {', '.join(present) or 'none'})")
    mask = bold.with_name(stem.replace("_desc-preproc_bold", "_desc-brain_mask") + ".nii.gz")
    sidecar = bold.with_name(stem + ".json")
    anat_dirs = [bold.parent.parent / "anat", subject_dir / "anat"]
    anat = next((p for d in anat_dirs if d.is_dir() for p in sorted(d.glob("*_desc-preproc_T1w.nii*"))
                 if "_space-" not in p.name), None)
    xfm = next((p for d in anat_dirs if d.is_dir() for p in sorted(d.glob("*_from-T1w_to-MNI152*_xfm.h5"))), None)
    others = [c[1].name for c in candidates[1:]]
    return FmriprepRun(label, bold, match["space"], confounds, mask if mask.is_file() else None,
                       sidecar if sidecar.is_file() else None, anat, xfm, others)
