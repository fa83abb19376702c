"""Benchmark: the rs-fMRI connectivity target (sgACC anticorrelation, Cash 2021 cluster step).

Workload (this machine's CPU, 2 cores; the load average is recorded with the numbers because
other processes on a shared box slow every one of them):

* **fMRIPrep-like run**: the sample run generator (``tmsnav.navigation.connectivity.sample_run``)
  on a 2 mm grid aligned with the sample head's T1, 97x115x97 voxels x 300 volumes (TR 2 s), int16
  ``.nii.gz`` with its confounds TSV and brain mask; the T1->MNI affine is the sample head's stored
  one (the MNI registration is cached per T1 in real use and timed in ``surface.py``).
  ``connectivity_target_s``: ``compute_connectivity`` on it **in memory** (the run read into an
  int16 array first: the method alone); ``connectivity_target_from_file_s``: ``prepare_fmriprep``
  + ``compute_connectivity`` from the ``.nii.gz`` (what the CLI does per subject, minus the figure).
* **Baseline in the same run**: the same file through a plain nilearn pipeline, written the way
  the nilearn documentation shows a seed-based correlation: ``NiftiSpheresMasker`` (10 mm seed) and
  ``NiftiMasker`` on the search region, both with 4 mm smoothing, the same confounds (6 motion +
  derivatives, global, WM, CSF), band-pass 0.01-0.1 Hz, then Pearson r and the same cluster step
  (no scrubbing, no stability, no null test: it does less). ``speedup_vs_nilearn`` = nilearn time /
  tmsnav from-file time; ``nilearn_vs_tmsnav_target_mm`` = how far apart the two targets are.
* **Raw run**: 64x64x36 x 300 volumes of 3.5 mm (head motion, spikes), ``prepare_bold_file``
  (rigid realignment of every volume, MI coregistration to the T1, masks) + the method:
  ``raw_pipeline_s``.
* **Memory**: a 97x115x97 x 1200-volume run written uncompressed (``.nii``, 2.6 GB, deleted after)
  processed in a child process (``prepare_fmriprep`` + ``compute_connectivity``); its peak RSS from
  ``VmHWM`` reported by the child: ``peak_rss_mb`` (the run as float32 would be 5.2 GB).

Every run's target is compared with the planted one (``*_target_error_mm``).

Run: ``./run.sh bench connectivity`` or ``.venv/bin/python benchmarks/connectivity.py [--skip-1200]``
(writes benchmarks/results/connectivity.json). Goals: target < 10 s, raw pipeline < 60 s,
speed-up over nilearn > 2, peak RSS < 2000 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tmsnav.navigation.connectivity.inputs import prepare_bold_file, prepare_fmriprep
from tmsnav.navigation.connectivity.method import compute_connectivity
from tmsnav.navigation.connectivity.params import ConnectivityParams
from tmsnav.navigation.connectivity.prepared import ArrayVolumes
from tmsnav.navigation.connectivity.sample_run import write_sample_run
from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.sample_head import sample_head_mri_from_mni

# Where results are written: the checkout this script is in. The code under test is the installed
# tmsnav (pip install -e .), never the checkout put on sys.path.
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "connectivity.json"
GRID_2MM = (97, 115, 97)
GOALS = {"connectivity_target_goal_s": 10.0, "raw_pipeline_goal_s": 60.0, "speedup_vs_nilearn_goal": 2.0,
         "peak_rss_goal_mb": 2000.0}

CHILD = """
import sys, time
from tmsnav.navigation.connectivity.inputs import prepare_fmriprep
from tmsnav.navigation.connectivity.method import compute_connectivity
from tmsnav.navigation.sample_head import sample_head_mri_from_mni
start = time.perf_counter()
prepared = prepare_fmriprep(sys.argv[1], "01", t1_image=sys.argv[2], mri_from_mni=sample_head_mri_from_mni())
result = compute_connectivity(prepared)
seconds = time.perf_counter() - start
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak_kb, seconds, *result.target_mri_mm)
"""


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def nilearn_pipeline(truth, prepared, params: ConnectivityParams) -> np.ndarray:
    """The plain nilearn way (see the module docstring); returns the target in mri mm."""
    import nibabel as nib
    import pandas as pd
    from nilearn.maskers import NiftiMasker, NiftiSpheresMasker
    from scipy import ndimage as ndi

    from tmsnav.navigation.connectivity.regions import build_regions

    table = pd.read_csv(truth.confounds_path, sep="\t", na_values="n/a").fillna(0.0)
    motion = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    names = [*motion, *(m + "_derivative1" for m in motion), "global_signal", "white_matter", "csf"]
    confounds = table[names].to_numpy()
    image = nib.load(str(truth.bold_path))
    search = build_regions(prepared, params).search_mask       # the same search region as tmsnav's
    seed_mri = sample_head_mri_from_mni().matrix @ np.r_[params.seed_mni_mm, 1.0]
    common = dict(smoothing_fwhm=params.smoothing_fwhm_mm, standardize="zscore_sample", detrend=True,
                  low_pass=params.band_hz[1], high_pass=params.band_hz[0], t_r=truth.tr_s)
    seed = NiftiSpheresMasker([tuple(seed_mri[:3])], radius=params.seed_radius_mm, **common).fit_transform(
        image, confounds=confounds)[:, 0]
    masker = NiftiMasker(nib.Nifti1Image(search.astype(np.uint8), image.affine), **common)
    x = masker.fit_transform(image, confounds=confounds)
    s = (seed - seed.mean()) / seed.std()
    xs = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    r = (xs * s[:, None]).mean(axis=0)
    negative = r[r < 0]
    cut = np.percentile(negative, params.percentile)
    chosen = np.zeros(search.shape, bool)
    chosen[tuple(np.argwhere(search)[r <= cut].T)] = True
    labels, n = ndi.label(chosen, structure=np.ones((3, 3, 3)))
    biggest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    centre = np.argwhere(labels == biggest).mean(axis=0)
    return (image.affine @ np.r_[centre, 1.0])[:3]


def peak_rss_child(folder: Path, t1: Path) -> tuple[float, float, np.ndarray]:
    """``(peak RSS MB, seconds, target)`` of one 1200-volume run in a fresh child process. The child
    reports its own ``VmHWM`` (/proc/self/status): ``getrusage().ru_maxrss`` is no good here, Linux
    carries the parent's high-water mark through fork and exec (4.4 GB reported for a child whose own
    peak was 0.8 GB, because this process held the nilearn baseline's arrays when it started it)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(t1)], capture_output=True, text=True,
                          check=True)
    values = [float(v) for v in proc.stdout.split()[-5:]]
    return values[0] / 1024.0, values[1], np.array(values[2:5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-1200", action="store_true", help="skip the 2.6 GB memory run")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    params = ConnectivityParams()
    mri_from_mni = sample_head_mri_from_mni()
    metrics: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory(prefix="tmsnav-bench-connectivity-") as tmp:
        work = Path(tmp)
        # ---- fMRIPrep-like 2 mm, 300 volumes
        t_write, truth = timed(lambda: write_sample_run(work / "fmriprep", variant="fmriprep", voxel_mm=2.0,
                                                        grid_shape=GRID_2MM, n_volumes=300, seed=0))
        t1 = load_volume(truth.t1_path)
        t_file, (prepared, result_file) = timed(lambda: _from_file(truth, t1, mri_from_mni, params))
        import nibabel as nib

        in_memory = np.asarray(nib.load(str(truth.bold_path)).dataobj)        # int16, 650 MB
        prepared.volumes = ArrayVolumes(in_memory)
        t_mem, result_mem = timed(lambda: compute_connectivity(prepared, params))
        del in_memory
        t_nilearn, nilearn_target = timed(lambda: nilearn_pipeline(truth, prepared, params))
        metrics.update({
            "connectivity_target_s": t_mem,
            "connectivity_target_from_file_s": t_file,
            "nilearn_pipeline_s": t_nilearn,
            "speedup_vs_nilearn": t_nilearn / t_file,
            "speedup_vs_nilearn_in_memory": t_nilearn / t_mem,
            "fmriprep_2mm_target_error_mm": float(np.linalg.norm(result_mem.target_mri_mm - truth.target_mri_mm)),
            "nilearn_target_error_mm": float(np.linalg.norm(nilearn_target - truth.target_mri_mm)),
            "nilearn_vs_tmsnav_target_mm": float(np.linalg.norm(nilearn_target - result_file.target_mri_mm)),
            "fmriprep_2mm_stability_mm": float(result_mem.stability_mm),
            "fmriprep_2mm_correlation": float(result_mem.correlation_at_target),
            "sample_write_2mm_300_s": t_write,
        })
        _save(metrics)
        shutil.rmtree(work / "fmriprep")
        # ---- raw 64x64x36, 300 volumes
        raw = write_sample_run(work / "raw", variant="raw", n_volumes=300, seed=0)
        t1_raw = load_volume(raw.t1_path)
        t_prep, prepared_raw = timed(lambda: prepare_bold_file(raw.bold_path, t1_volume=t1_raw,
                                                               mri_from_mni=mri_from_mni))
        t_method, result_raw = timed(lambda: compute_connectivity(prepared_raw, params))
        metrics.update({
            "raw_pipeline_s": t_prep + t_method,
            "raw_prepare_s": t_prep,
            "raw_method_s": t_method,
            "raw_target_error_mm": float(np.linalg.norm(result_raw.target_mri_mm - raw.target_mri_mm)),
            "raw_stability_mm": float(result_raw.stability_mm),
        })
        _save(metrics)
        shutil.rmtree(work / "raw")
        # ---- 1200 volumes: memory
        if not args.skip_1200:
            t_big, big = timed(lambda: write_sample_run(work / "big", variant="fmriprep", voxel_mm=2.0,
                                                        grid_shape=GRID_2MM, n_volumes=1200, seed=0, compress=False))
            size_gb = big.bold_path.stat().st_size / 1e9
            rss, t_child, target = peak_rss_child(big.root, big.t1_path)
            metrics.update({"peak_rss_mb": rss, "run_1200_file_gb": size_gb, "run_1200_target_s": t_child,
                            "run_1200_target_error_mm": float(np.linalg.norm(target - big.target_mri_mm)),
                            "sample_write_2mm_1200_s": t_big,
                            "peak_rss_vs_float32_run_ratio": rss / (np.prod(GRID_2MM) * 1200 * 4 / 2 ** 20)})
    metrics.update(GOALS)
    metrics.update({"load_average_1min_at_start": load_before, "load_average_1min_at_end": os.getloadavg()[0],
                    "cpu_count": os.cpu_count() or 0,
                    "conditions": "fMRIPrep-like 97x115x97x300 int16 .nii.gz on 2 mm; raw 64x64x36x300 3.5 mm; "
                                  "sample head T1; stored sample-head mri_from_mni (registration not timed)"})
    _print(metrics)
    _save(metrics)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _save(metrics: dict) -> None:
    """Written after each part too, so a later failure does not lose the earlier numbers."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def _from_file(truth, t1, mri_from_mni, params):
    prepared = prepare_fmriprep(truth.root, truth.subject, t1_image=t1, mri_from_mni=mri_from_mni)
    return prepared, compute_connectivity(prepared, params)


def _print(m: dict) -> None:
    print(f"tmsnav connectivity benchmark ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {m['load_average_1min_at_start']:.1f} -> {m['load_average_1min_at_end']:.1f})")
    rows = [("target, 97x115x97x300 2 mm, in memory", "connectivity_target_s", "goal < 10 s"),
            ("target, same run from .nii.gz (prepare + method)", "connectivity_target_from_file_s", ""),
            ("baseline: plain nilearn pipeline, same file", "nilearn_pipeline_s", ""),
            ("raw 64x64x36x300: realign + coregister + method", "raw_pipeline_s", "goal < 60 s"),
            ("1200 volumes (2.6 GB .nii) in a child process", "run_1200_target_s", "")]
    for name, key, goal in rows:
        if key in m:
            print(f"  {name:<52} {m[key]:8.1f} s   {goal}")
    print(f"  speed-up vs nilearn: {m['speedup_vs_nilearn']:.1f}x (goal > 2); in memory "
          f"{m['speedup_vs_nilearn_in_memory']:.1f}x")
    if "peak_rss_mb" in m:
        print(f"  peak RSS of the 1200-volume run: {m['peak_rss_mb']:.0f} MB (goal < 2000)")
    print(f"  target error vs planted: 2 mm {m['fmriprep_2mm_target_error_mm']:.1f} mm, raw "
          f"{m['raw_target_error_mm']:.1f} mm, nilearn {m['nilearn_target_error_mm']:.1f} mm")


if __name__ == "__main__":
    main()
