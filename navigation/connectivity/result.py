"""The connectivity target and everything needed to judge it, show it and redo it.

The target is computed in the run's own grid (``space``: the patient's ``mri`` or ``mni``) and
carried to the patient's MRI and to MNI through the hand-over's transforms, so the three
coordinates always describe the same point. ``to_target`` turns it into a normal tmsnav
:class:`Target` (cortical point, closest scalp point as coil entry, inward scalp normal, default
handle), with evidence that names the method, its parameters and how it compares with the group
targets of Fox et al. 2012.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["ConnectivityResult", "CASH2021", "software_version"]

CASH2021 = ("Cash RFH, Cocchi L, Lv J, Wu Y, Fitzgerald PB, Zalesky A. Personalized "
            "connectivity-guided DLPFC-TMS for depression: advancing computational feasibility, "
            "precision and reproducibility. Hum Brain Mapp 2021;42(13):4155-4172.")


def software_version() -> str:
    try:
        return version("tmsnav")
    except PackageNotFoundError:
        return "unknown"


def _vec(v: Any) -> list[float]:
    return [float(x) for x in np.asarray(v, dtype=float).reshape(3)]


@dataclass
class ConnectivityResult:
    target_space_mm: np.ndarray
    target_mri_mm: np.ndarray
    target_mni_mm: np.ndarray
    correlation_at_target: float
    cluster_voxels: int
    cluster_volume_mm3: float
    stability_mm: float
    split_targets_mri_mm: list[np.ndarray]
    seed_tsnr: float
    mean_fd_mm: float
    scrubbed_fraction: float
    n_volumes_used: int
    warnings: list[str]
    params: ConnectivityParams
    pipeline: str
    steps: list[str]
    correlation_map: np.ndarray
    search_mask: np.ndarray
    cluster_mask: np.ndarray
    seed_mask: np.ndarray
    space_from_voxel: np.ndarray
    space: Frame
    # --- beyond the contract ---
    p_value: float = float("nan")                 # cluster vs phase-randomised seeds
    block_targets_mri_mm: list[np.ndarray | None] = field(default_factory=list)
    block_distances_mm: list[float] = field(default_factory=list)   # each block to the full-run target
    seed_fov_coverage: float = 1.0
    search_fov_coverage: float = 1.0
    seed_time_course: np.ndarray | None = None    # cleaned, kept volumes (for plots and tests)
    mri_from_space: Transform | None = None       # places the map in the patient's mri (overlays)

    def distance_to_mni_mm(self, mni_xyz: Any) -> float:
        """Distance in MNI mm from the target to a published coordinate, e.g. the Fox 2012 group
        target (-38, 44, 26) or the average F3 site (-37, 26, 49)."""
        return float(np.linalg.norm(np.asarray(self.target_mni_mm, float) - np.asarray(mni_xyz, float)))

    def to_json_dict(self) -> dict[str, Any]:
        """What ``target.json`` holds (plain JSON types; NaN becomes null)."""
        def num(x: float) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)
        return {
            "target_mri_mm": _vec(self.target_mri_mm),
            "target_mni_mm": _vec(self.target_mni_mm),
            "target_space_mm": _vec(self.target_space_mm),
            "space": self.space.value,
            "correlation": num(self.correlation_at_target),
            "cluster_voxels": int(self.cluster_voxels),
            "cluster_volume_mm3": num(self.cluster_volume_mm3),
            "p_value": num(self.p_value),
            "stability_mm": num(self.stability_mm),
            "split_targets_mri_mm": [_vec(t) for t in self.split_targets_mri_mm],
            "block_distances_mm": [num(d) for d in self.block_distances_mm],
            "seed_tsnr": num(self.seed_tsnr),
            "mean_fd_mm": num(self.mean_fd_mm),
            "scrubbed_fraction": num(self.scrubbed_fraction),
            "n_volumes_used": int(self.n_volumes_used),
            "distance_to_fox2012_mm": num(self.distance_to_mni_mm(_fox2012())),
            "distance_to_f3_mm": num(self.distance_to_mni_mm(_avg_f3())),
            "warnings": list(self.warnings),
            "params": self.params.to_dict(),
            "pipeline": self.pipeline,
            "steps": list(self.steps),
            "software": "tmsnav",
            "version": software_version(),
        }

    def map_image(self) -> Any:
        """The correlation map as a float32 NIfTI in the run's grid (NaN outside the search
        region). Its affine is ``space_from_voxel``; the sform code says scanner (patient mri)
        or MNI, and the description names the space."""
        import nibabel as nib

        img = nib.Nifti1Image(np.asarray(self.correlation_map, dtype=np.float32), self.space_from_voxel)
        code = 4 if self.space == Frame.MNI else 1
        img.header.set_sform(self.space_from_voxel, code=code)
        img.header.set_qform(self.space_from_voxel, code=code)
        img.header["descrip"] = f"tmsnav r with sgACC, space={self.space.value}".encode()[:79]
        img.header["intent_name"] = b"correlation"
        return img

    def evidence_text(self) -> str:
        p = self.params
        method = ("largest 26-connected cluster of the most negative "
                  f"{p.percentile:g} % (centre of mass)" if p.method == "cluster" else "peak voxel")
        seed = f"seed map {p.seed_map}" if p.seed_map else \
            f"sgACC seed {p.seed_radius_mm:g} mm sphere at MNI {tuple(round(v, 1) for v in p.seed_mni_mm)}"
        stab = "not measured" if not np.isfinite(self.stability_mm) else f"{self.stability_mm:.1f} mm"
        parts = [
            f"sgACC anticorrelation, {method}; {seed}; search = 20 mm spheres at BA9/BA46/5-cm/F3 "
            f"(radius {p.search_radius_mm:g} mm) in grey matter; {p.smoothing_fwhm_mm:g} mm FWHM, "
            f"{p.band_hz[0]:g}-{p.band_hz[1]:g} Hz, motion+derivatives/global/WM/CSF regressed, "
            f"FD > {p.fd_threshold_mm:g} mm scrubbed",
            f"r = {self.correlation_at_target:.2f} at the target; cluster {self.cluster_voxels} voxels "
            f"({self.cluster_volume_mm3:.0f} mm3); p = {self.p_value:.2f} against random seeds",
            f"moves {stab} between run halves; {self.n_volumes_used} volumes used, "
            f"seed tSNR {self.seed_tsnr:.0f}, mean FD {self.mean_fd_mm:.2f} mm",
            f"{self.distance_to_mni_mm(_fox2012()):.0f} mm from the Fox 2012 group target, "
            f"{self.distance_to_mni_mm(_avg_f3()):.0f} mm from the average F3 site",
            f"pipeline: {self.pipeline}",
        ]
        if self.warnings:
            parts.append("warnings: " + " | ".join(self.warnings))
        return "; ".join(parts)

    def to_target(self, scalp_mesh: Any, brain_mesh: Any = None, head_axes: Any = None,
                  name: str = "sgACC-anticorrelated DLPFC") -> Any:
        """A tmsnav Target (source "connectivity"): the cortical point is ``target_mri_mm``, the
        coil entry the closest scalp point, the coil axis the inward scalp normal there (the
        SimNIBS convention, as for literature targets), the handle the default for its side."""
        from tmsnav.navigation.connectivity.method_errors import ConnectivityError
        from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, closest_point, outward_normal
        from tmsnav.navigation.targeting.targets import Evidence, Target, default_handle_direction

        cortex = np.asarray(self.target_mri_mm, dtype=float)
        entry = closest_point(scalp_mesh, cortex)
        n_out = outward_normal(scalp_mesh, entry)
        to_cortex = cortex - entry
        if float(np.linalg.norm(to_cortex)) < 1e-6 or float(to_cortex @ n_out) >= 0:
            raise ConnectivityError("the connectivity target lies outside the scalp: the run's "
                                    "registration to the T1 or the scalp mesh is wrong")
        z = -n_out
        axes = head_axes or HeadAxes.ras()
        side = "left" if self.target_mni_mm[0] < -5 else ("right" if self.target_mni_mm[0] > 5 else "midline")
        notes = [f"MNI ({', '.join(f'{v:.1f}' for v in self.target_mni_mm)}) computed from the "
                 "patient's resting-state run; entry = closest scalp point (SimNIBS convention)"]
        if brain_mesh is not None:
            off = float(np.linalg.norm(closest_point(brain_mesh, cortex) - cortex))
            notes.append(f"target is {off:.1f} mm from the brain surface")
        evidence = Evidence(citation=_fox_citation() + " " + CASH2021, why=self.evidence_text(),
                            doi="10.1016/j.biopsych.2012.04.028")
        return Target(name=name, scalp_point_mm=entry, normal=z,
                      handle_direction=default_handle_direction(z, axes, side),
                      source="connectivity", evidence=evidence, cortex_point_mm=cortex,
                      mni_point_mm=np.asarray(self.target_mni_mm, dtype=float), notes="; ".join(notes))


def _fox2012() -> tuple[float, float, float]:
    from tmsnav.navigation.targeting.literature import get

    return get("fox2012").mni_mm


def _avg_f3() -> tuple[float, float, float]:
    from tmsnav.navigation.targeting.literature import get

    return get("avg_f3").mni_mm


def _fox_citation() -> str:
    from tmsnav.navigation.targeting.literature import SOURCES

    return SOURCES["fox2012"].citation
