"""The connectivity computation as one worker-thread job: inputs -> PreparedBold -> result.

The GUI captures what the user chose (:class:`InputChoice`, the parameters, the open T1 and its
MNI registration) on the GUI thread and hands copies to :func:`run_connectivity`, which runs on
the job runner's thread with one progress bar whose stage names say where it is ("MNI
registration", "Reading the run", "Correlation map", ...). Nothing here touches Qt, so the same
function is what a test calls to compare the GUI's target with a direct computation.

Never the identity for MNI: the seed (Fox 2012 sgACC) and the DLPFC search spheres are MNI
coordinates, and putting them in the patient's space with an identity transform would place the
seed anywhere. Without a registration the job runs tmsnav's own (cached) MNI registration first;
the sample head uses the transform bundled with it (the one the demo and the sample generator use).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.progress import CancelToken, ProgressCallback, report, scaled
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["InputChoice", "ConnectivityOutcome", "run_connectivity", "InputChoiceError",
           "mri_from_run_voxel", "sample_head_registration", "FOX2012_MNI", "F3_MNI"]

#: Fox et al. 2012 group target (sgACC-anticorrelated L-DLPFC) and the average Beam F3 site,
#: MNI mm (the same numbers as tmsnav.navigation.targeting.literature "fox2012" / "avg_f3").
FOX2012_MNI = (-38.0, 44.0, 26.0)
F3_MNI = (-37.0, 26.0, 49.0)


class InputChoiceError(NavigationError):
    """What the user chose cannot be used (nothing given, missing file, folder for a file)."""


@dataclass(frozen=True)
class InputChoice:
    """Where the functional run comes from: an fMRIPrep/BIDS folder and participant, or a BOLD
    file (with an optional confounds TSV, which marks it as already preprocessed, and sidecar)."""

    kind: str                          # "fmriprep" or "bold"
    path: str
    participant: str | None = None
    confounds: str | None = None
    sidecar: str | None = None

    def checked(self) -> "InputChoice":
        """Refuse at once (GUI thread, before any job) what is plainly not usable."""
        if self.kind not in ("fmriprep", "bold"):
            raise InputChoiceError(f"unknown input kind {self.kind!r}")
        if not self.path.strip():
            what = "an fMRIPrep or BIDS folder" if self.kind == "fmriprep" else "a BOLD file (.nii or .nii.gz)"
            raise InputChoiceError(f"Choose {what} first.")
        p = Path(self.path)
        if not p.exists():
            raise InputChoiceError(f"{p.name} does not exist (looked in {p.parent}).")
        if self.kind == "fmriprep" and not p.is_dir():
            raise InputChoiceError(f"{p.name} is a file; an fMRIPrep or BIDS folder is needed here. "
                                   "For a single BOLD file choose 'BOLD file'.")
        if self.kind == "bold" and p.is_dir():
            raise InputChoiceError(f"{p.name} is a folder; a 4-D BOLD NIfTI file is needed here. "
                                   "For fMRIPrep output choose 'fMRIPrep / BIDS folder'.")
        for label, extra in (("confounds TSV", self.confounds), ("sidecar JSON", self.sidecar)):
            if extra and not Path(extra).is_file():
                raise InputChoiceError(f"The {label} {Path(extra).name} is not a file.")
        return self


@dataclass
class ConnectivityOutcome:
    """A finished computation and what it was computed for (the GUI drops it if the image changed)."""

    result: Any                        # tmsnav.navigation.connectivity ConnectivityResult
    choice: InputChoice
    volume: Any                        # the T1 volume it belongs to
    mni: Any                           # the MniRegistration used (new if the job ran it)
    mni_is_new: bool
    mri_from_voxel: np.ndarray         # 4x4: the run's voxel grid to the patient's mri mm
    surface_r: np.ndarray | None = None        # r sampled on the brain surface (NaN outside)
    surface_cluster: np.ndarray | None = None  # brain vertices over the cluster


def sample_head_registration():
    """The sample head's bundled MNI transform as an MniRegistration (what the demo uses)."""
    from tmsnav.navigation import sample_head
    from tmsnav.navigation.targeting.mni_registration import MniRegistration

    return MniRegistration(sample_head.sample_head_mri_from_mni(), float("nan"), 0.0,
                           "bundled sample-head transform (assets/sample_head/mri_from_mni.json)")


def mri_from_run_voxel(result: Any, mri_from_mni: Transform) -> np.ndarray:
    """4x4 from the run's voxel indices to the patient's mri mm (an MNI-space run goes through
    the patient's registration; a T1w-space or coregistered run is already in mri)."""
    space = Frame.parse(result.space)
    m = np.asarray(result.space_from_voxel, float).reshape(4, 4)
    if space == Frame.MRI:
        return m
    if space == Frame.MNI:
        return mri_from_mni.matrix @ m
    raise NavigationError(f"a connectivity map in {space.value} space cannot be drawn on the patient")


def _stage(progress: ProgressCallback | None, start: float, stop: float, stage: str) -> ProgressCallback | None:
    """``scaled`` with the stage name in front of each message ("Reading the run: realigning ...")."""
    sub = scaled(progress, start, stop)
    if sub is None:
        return None

    def staged(fraction: float, message: str) -> None:
        sub(fraction, f"{stage}: {message}" if message and message != "done" else stage)

    return staged


def run_connectivity(choice: InputChoice, params: Any, head: Any, mni: Any, *,
                     surface: tuple[np.ndarray, np.ndarray] | None = None,
                     progress: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> ConnectivityOutcome:
    """Everything the "Compute target" button does, off the GUI thread.

    ``head``: the LoadedHead (its T1 volume; ``is_sample`` picks the bundled MNI transform when
    there is no registration yet); ``mni``: the window's MniRegistration or None; ``surface``:
    (points, outward normals) of the brain surface, copied on the GUI thread, to sample the map on.
    """
    from tmsnav.navigation.connectivity.method import compute_connectivity

    from .surface_sampling import sample_on_surface

    volume = head.volume
    mni_is_new = False
    start = 0.0
    if mni is None:
        if getattr(head, "is_sample", False):
            mni = sample_head_registration()
        else:
            from tmsnav.navigation.targeting.mni_registration import cached_register_to_mni

            report(progress, 0.0, "MNI registration (needed to place the sgACC seed)", cancel)
            mni = cached_register_to_mni(volume, progress=_stage(progress, 0.0, 0.2, "MNI registration"),
                                         cancel=cancel)
            start = 0.2
        mni_is_new = True
    mri_from_mni = mni.mri_from_mni
    raw = choice.kind == "bold" and not choice.confounds
    split = start + (0.75 if raw else 0.45) * (1.0 - start)
    report(progress, start, "Reading the run", cancel)
    prepared = _prepare(choice, volume, mri_from_mni, _stage(progress, start, split, "Reading the run"), cancel)
    report(progress, split, "Connectivity", cancel)
    result = compute_connectivity(prepared, params, progress=_stage(progress, split, 0.97, "Connectivity"),
                                  cancel=cancel)
    report(progress, 0.97, "Sampling the map on the brain surface", cancel)
    mri_from_voxel = mri_from_run_voxel(result, mri_from_mni)
    outcome = ConnectivityOutcome(result, choice, volume, mni, mni_is_new, mri_from_voxel)
    if surface is not None:
        outcome.surface_r, outcome.surface_cluster = sample_on_surface(
            result.correlation_map, result.cluster_mask, mri_from_voxel, *surface)
    report(progress, 1.0, "done", cancel)
    return outcome


def _prepare(choice: InputChoice, volume: Any, mri_from_mni: Transform,
             progress: ProgressCallback | None, cancel: CancelToken | None):
    from tmsnav.navigation.connectivity.inputs import prepare_bold_file, prepare_fmriprep

    if choice.kind == "fmriprep":
        return prepare_fmriprep(choice.path, choice.participant or None, t1_image=volume,
                                       mri_from_mni=mri_from_mni, progress=progress,
                                       cancel=cancel)
    return prepare_bold_file(choice.path, t1_volume=volume, mri_from_mni=mri_from_mni,
                                    confounds_tsv=choice.confounds or None, sidecar=choice.sidecar or None,
                                    progress=progress, cancel=cancel)
