"""Benchmark: what the Planning tab computes on the bundled sample head.

Workload
--------
* Image: the sample head T1 (``assets/sample_head/mean_reg2mean.nii.gz``, 176 x 256 x 256, ~1 mm).
* MNI registration: ``register_to_mni`` called directly, so no cache is involved (cold), once.
* Surfaces: the sample head's scalp (``head_surfaces``, ~133k triangles) and its MNI152 brain
  surface built with ``max_faces=240_000`` (100,976 vertices: the "100k cortex").
* Targets (the jobs behind "Add target"): F3 by 10-20 from the marked fiducials, Beam F3 measured
  on the mesh, Fox 2012 mapped through the sample head's stored ``mri_from_mni``; plus the
  one-off preparation of the VTK-free lookup structures (``worker_safe_surface``).
* E-field: the generic 70 mm figure-8 at the Fox 2012 target, 60 % MSO of ~100 A/us, on the 100k
  cortex through ``field_for_target`` (what the GUI calls: local sphere fit, region of 100 mm,
  float32). Baseline in the same run: the naive per-dipole numpy loop of
  ``benchmarks/efield.py`` on the same evaluated vertices (float64).
* Orientation: ``orientation_for_target`` (72-step sweep + Brent) for |E| and for E along the
  cortical normal.
Timings are medians of 7 runs (the registration: 1 run). The machine has 2 shared cores: the
1-min load average at start is recorded.

Run: ``.venv/bin/python benchmarks/planning.py`` -> table + ``benchmarks/results/planning.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from tmsnav.navigation.imaging.volume import load_volume
from tmsnav.navigation.surfaces.sample_brain import sample_head_brain_surface
from tmsnav.navigation.sample_head import sample_head_fiducials, sample_head_mri_from_mni, sample_head_path
from tmsnav.navigation.surfaces.head import head_surfaces
from tmsnav.navigation.targeting import literature
from tmsnav.navigation.targeting.beam_f3 import beam_f3_target
from tmsnav.navigation.targeting.coil_dipoles import GENERIC_FIG8_70, figure8_dipoles
from tmsnav.navigation.targeting.efield import didt_from_output
from tmsnav.navigation.targeting.mni_registration import register_to_mni
from tmsnav.navigation.targeting.scalp_geometry import closest_point
from tmsnav.navigation.targeting.planning import (cortical_normal, field_for_target,
                                                  landmarks_from, orientation_for_target)
from tmsnav.navigation.targeting.ten_twenty import compute_ten_twenty, ten_twenty_target
from tmsnav.navigation.targeting.worker_mesh import worker_safe_surface
from tmsnav.navigation.transforms import Frame, Transform

# Where results are written: the checkout this script is in. The code under test is the installed
# tmsnav (pip install -e .), never the checkout put on sys.path.
ROOT = Path(__file__).resolve().parents[1]

REPEATS = 7
OUTPUT_PERCENT = 60.0
BRAIN_MAX_FACES = 240_000   # -> 100,976 vertices: the "100k cortex"


def _efield_benchmark_module():
    """benchmarks/efield.py (a script, not a package): for its naive baseline loop."""
    spec = importlib.util.spec_from_file_location("efield_benchmark", ROOT / "benchmarks" / "efield.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, repeats: int = REPEATS) -> tuple[float, float, object]:
    """(median ms, fastest ms, last result) after one warm-up call."""
    out = fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(samples)), float(np.min(samples)), out


def main() -> None:
    load_before = os.getloadavg()[0]
    volume = load_volume(sample_head_path())

    t0 = time.perf_counter()
    reg = register_to_mni(volume)
    mni_s = time.perf_counter() - t0

    scalp = head_surfaces(volume).scalp
    brain = sample_head_brain_surface(max_faces=BRAIN_MAX_FACES)
    t_prep = time.perf_counter()
    scalp_surf, brain_surf = worker_safe_surface(scalp), worker_safe_surface(brain)
    prep_ms = (time.perf_counter() - t_prep) * 1e3          # GUI thread, once per head
    t_index = time.perf_counter()
    for surf in (scalp_surf, brain_surf):                     # worker, first query builds it
        closest_point(surf, surf.centroid)
    index_ms = (time.perf_counter() - t_index) * 1e3
    fiducials = sample_head_fiducials()
    mri_from_mni = sample_head_mri_from_mni()

    def ten_twenty():
        choice = landmarks_from(fiducials, scalp_surf)
        return ten_twenty_target(compute_ten_twenty(scalp_surf, choice.landmarks), "F3",
                                 brain_mesh=brain_surf)

    def beam():
        choice = landmarks_from(fiducials, scalp_surf)
        return beam_f3_target(scalp_surf, choice.landmarks, brain_mesh=brain_surf)

    def fox():
        return literature.map_to_patient(literature.get("fox2012"), mri_from_mni, scalp_surf, brain_surf)

    t_1020, _, f3 = timed(ten_twenty, 3)
    t_beam, _, _ = timed(beam, 3)
    t_fox, _, target = timed(fox)

    cortex = np.asarray(brain_surf.vertices)
    faces = np.asarray(brain_surf.faces)
    scalp_points = np.asarray(scalp_surf.vertices)
    t_field, t_field_min, field = timed(lambda: field_for_target(
        target, cortex, faces, scalp_points, GENERIC_FIG8_70, stimulator_output_percent=OUTPUT_PERCENT))
    naive_loop = _efield_benchmark_module().naive_loop
    mri_from_hotspot = Transform(Frame.MRI, Frame.HOTSPOT, target.mri_from_target.matrix)
    dipoles = figure8_dipoles(GENERIC_FIG8_70).transformed(mri_from_hotspot)
    inside = cortex[field.evaluated]
    didt = didt_from_output(OUTPUT_PERCENT)
    t_naive, _, e_naive = timed(lambda: naive_loop(inside, dipoles.positions_mm, dipoles.moments_A_m2_per_A,
                                                   field.sphere.centre_mm, didt), 2)
    naive_diff = float(np.abs(np.linalg.norm(e_naive, axis=1) - field.magnitude_V_per_m[field.evaluated]).max()
                       / np.nanmax(field.magnitude_V_per_m))
    t_orient, t_orient_min, orient = timed(lambda: orientation_for_target(
        target, scalp_points, GENERIC_FIG8_70, didt_A_per_s=didt))
    normal = cortical_normal(brain_surf, target.cortex_point_mm)
    t_orient_n, _, orient_n = timed(lambda: orientation_for_target(
        target, scalp_points, GENERIC_FIG8_70, didt_A_per_s=didt, direction=normal))

    metrics = {
        "mni_registration_s": mni_s,
        "mni_registration_similarity": reg.similarity,
        "efield_100k_ms": t_field,
        "efield_100k_min_ms": t_field_min,
        "efield_100k_naive_loop_ms": t_naive,
        "efield_speedup_vs_naive_loop": t_naive / t_field,
        "efield_naive_max_rel_diff": naive_diff,
        "orientation_opt_ms": t_orient,
        "orientation_opt_min_ms": t_orient_min,
        "orientation_opt_cortical_normal_ms": t_orient_n,
        "target_ten_twenty_f3_ms": t_1020,
        "target_beam_f3_mesh_ms": t_beam,
        "target_literature_fox2012_ms": t_fox,
        "surface_preparation_gui_thread_ms": prep_ms,
        "surface_index_build_worker_ms": index_ms,
        "cortex_vertices": int(len(cortex)),
        "cortex_vertices_evaluated": int(field.evaluated.sum()),
        "scalp_triangles": int(len(scalp_surf.faces)),
        "fox2012_V_per_m_at_60_percent": float(field.target_V_per_m),
        "fox2012_depth_mm": float(field.target_depth_mm),
        "fox2012_to_f3_scalp_mm": float(np.linalg.norm(target.scalp_point_mm - f3.scalp_point_mm)),
        "orientation_best_angle_cortical_normal_deg": float(np.rad2deg(orient_n.best_angle_rad)),
        "orientation_magnitude_spread_percent": float(100 * np.ptp(orient.values_V_per_m)
                                                      / orient.values_V_per_m.max()),
        "load_average_1min_at_start": load_before,
    }
    rows = [("MNI registration, cold (s)", mni_s, 20.0),
            ("E-field on the 100k cortex, field_for_target (ms)", t_field, 100.0),
            ("  baseline: naive per-dipole loop, same vertices (ms)", t_naive, None),
            ("Orientation optimiser, |E| (ms)", t_orient, None),
            ("Orientation optimiser, E along the cortical normal (ms)", t_orient_n, None),
            ("Add target: F3 by 10-20 (ms)", t_1020, None),
            ("Add target: Beam F3 on the mesh (ms)", t_beam, None),
            ("Add target: Fox 2012 through mri_from_mni (ms)", t_fox, None),
            ("Surface preparation on the GUI thread, once per head (ms)", prep_ms, None),
            ("  closest-point index, first query on the worker (ms)", index_ms, None)]
    print(f"tmsnav planning benchmark ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}); 1-min load average at start {load_before:.2f}")
    print(f"workload: sample head {volume.shape}, scalp {len(scalp_surf.faces)} triangles, cortex "
          f"{len(cortex)} vertices ({int(field.evaluated.sum())} evaluated), {field.dipole_count} dipoles")
    print(f"{'case':58s} {'value':>9s}  goal")
    for name, value, goal in rows:
        verdict = "" if goal is None else (f"< {goal:g}: " + ("PASS" if value < goal else "MISS"))
        print(f"{name:58s} {value:9.1f}  {verdict}")
    print(f"speed-up vs naive loop {t_naive / t_field:.0f}x (max rel. difference {naive_diff:.1e}); "
          f"Fox 2012: {field.target_V_per_m:.0f} V/m at {OUTPUT_PERCENT:g} % MSO, "
          f"{metrics['fox2012_to_f3_scalp_mm']:.1f} mm from F3 on the scalp")
    out = ROOT / "benchmarks" / "results" / "planning.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
