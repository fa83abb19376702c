"""Benchmark: resting-motor-threshold methods and the hotspot centre of gravity against a known truth.

Workload
--------
* Threshold: 200 simulated subjects (``mep_model.random_subject``: true RMT 30-75 % MSO, Boltzmann
  slope 2-7 %, log-normal ln-SD 0.3-0.9, plateau 1-4 mV), the same 200 for every method (seeded):
  relative frequency (Rossini et al. 2015; 2 % steps) started at 60 % MSO and at 120 % of the
  true RMT (a start known to be suprathreshold, as after a hotspot search); ML-PEST (Awiszus
  2003) with the default stopping rule (10-20 pulses, 5 % likelihood interval) and with a fixed 20
  and 30 pulses. Error = estimate - true threshold (the true threshold is a real number, the
  estimate a whole %: rounding alone costs up to 0.5).
* Hotspot: a 5 x 5 grid at 10 mm around the left hand knob on three heads (the bundled sample
  head through its stored MNI registration, fsaverage with FreeSurfer's MNI152->MNI305 matrix,
  and the ellipsoid phantom), 60 subjects each with the true hotspot up to 7 mm (per axis) from
  the grid centre's cortical point; 5 pulses per site at 120 % RMT; error = distance of the
  cortex centre of gravity from the true hotspot. Grid construction time is the median of 3.

Run: ``.venv/bin/python benchmarks/motor_threshold.py`` -> table + ``benchmarks/results/motor_threshold.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import pyvista as pv

from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh, closest_point
from tmsnav.navigation.transforms import Transform
from tmsnav.navigation.treatment.mep_model import random_subject
from tmsnav.navigation.treatment.motor_map import MotorGrid
from tmsnav.navigation.treatment.threshold import AdaptiveThreshold, RelativeFrequencyThreshold

ROOT = Path(__file__).resolve().parents[1]
N_SUBJECTS = 200
N_MAP_SUBJECTS = 60


def _targeting_data():
    path = ROOT / "tests" / "navigation" / "targeting" / "targeting_data.py"
    spec = importlib.util.spec_from_file_location("targeting_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def threshold_table() -> dict:
    methods = {
        "relative_frequency_start60": lambda s: RelativeFrequencyThreshold(start_pct=60),
        "relative_frequency_start120pct": lambda s: RelativeFrequencyThreshold(
            start_pct=min(100, int(round(1.2 * s.rmt_pct)))),
        "ml_pest_default_stop": lambda s: AdaptiveThreshold(start_pct=45),
        "ml_pest_fixed_20": lambda s: AdaptiveThreshold(start_pct=45, min_pulses=20, max_pulses=20),
        "ml_pest_fixed_30": lambda s: AdaptiveThreshold(start_pct=45, min_pulses=30, max_pulses=30),
    }
    out = {}
    for name, factory in methods.items():
        rng = np.random.default_rng(2026)
        errors, pulses = [], []
        for _ in range(N_SUBJECTS):
            subject = random_subject(rng)
            method = factory(subject)
            while (x := method.next_intensity()) is not None:
                method.record(x, subject.mep_uv(None, x, rng))
            errors.append(method.threshold_pct - subject.rmt_pct)
            pulses.append(method.pulses_used)
        e, p = np.array(errors), np.array(pulses)
        out[name] = {"bias_pct": float(e.mean()), "mean_abs_error_pct": float(np.abs(e).mean()),
                     "p95_abs_error_pct": float(np.percentile(np.abs(e), 95)),
                     "max_abs_error_pct": float(np.abs(e).max()), "pulses_mean": float(p.mean()),
                     "pulses_p95": float(np.percentile(p, 95)), "pulses_max": int(p.max())}
    return out


def _ellipsoid(centre, semi_axes) -> pv.PolyData:
    s = pv.Sphere(radius=1.0, theta_resolution=160, phi_resolution=160)
    s.points = np.asarray(s.points) * np.asarray(semi_axes) + np.asarray(centre)
    return s


def heads() -> dict:
    d = _targeting_data()
    ref = d.fsaverage_1010()
    out = {"fsaverage": (SurfaceMesh(d.fsaverage_scalp()), SurfaceMesh(d.fsaverage_inner_skull()),
                         HeadAxes.from_landmarks(ref["NAS"], ref["LPA"], ref["RPA"]),
                         Transform("mri", "mni", np.linalg.inv(d.MNI152_FROM_MNI305)))}
    ph = make_phantom_head(voxel_mm=4.0)
    out["phantom"] = (SurfaceMesh(_ellipsoid(ph.scalp.centre, ph.scalp.semi_axes)),
                      SurfaceMesh(_ellipsoid(ph.brain.centre, ph.brain.semi_axes)),
                      HeadAxes.from_landmarks(ph.nasion, ph.lpa, ph.rpa),
                      Transform.from_translation([0.0, 0.0, 15.0], to_frame="mri", from_frame="mni"))
    from tmsnav.navigation.imaging.volume import load_volume
    from tmsnav.navigation.sample_head import sample_head_fiducials, sample_head_mri_from_mni, sample_head_path
    from tmsnav.navigation.surfaces.head import head_surfaces
    from tmsnav.navigation.surfaces.sample_brain import sample_head_brain_surface
    fid = sample_head_fiducials()
    out["sample_head"] = (SurfaceMesh(head_surfaces(load_volume(sample_head_path())).scalp),
                          SurfaceMesh(sample_head_brain_surface(max_faces=60_000)),
                          HeadAxes.from_landmarks(fid["nasion"], fid["lpa"], fid["rpa"]),
                          sample_head_mri_from_mni())
    return out


def hotspot_table() -> dict:
    out = {}
    for name, (scalp, brain, axes, mri_from_mni) in heads().items():
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            grid = MotorGrid.around_hand_knob(mri_from_mni, scalp, axes, brain_mesh=brain)
            times.append((time.perf_counter() - t0) * 1e3)
        centre = grid.site("C3").target.cortex_point_mm
        rng = np.random.default_rng(11)
        errors, edge, few, warned = [], 0, 0, []
        for _ in range(N_MAP_SUBJECTS):
            truth = closest_point(brain, centre + rng.uniform(-7, 7, 3))
            subject = random_subject(rng, truth)
            output = round(subject.rmt_pct * 1.2)
            for s in grid.sites:
                s.amplitudes_uv.clear()
                for _ in range(5):
                    grid.record(s.label, subject.mep_uv(s.target, output, rng))
            errors.append(float(np.linalg.norm(grid.cortex_centre_of_gravity_mm() - truth)))
            warnings = grid.warnings()
            edge += any("edge" in w for w in warnings)
            few += any("site(s) gave" in w for w in warnings)
            warned.append(bool(warnings))
        e = np.array(errors)
        clean = e[~np.array(warned)]
        out[name] = {"cog_mean_error_mm": float(e.mean()), "cog_p95_error_mm": float(np.percentile(e, 95)),
                     "cog_max_error_mm": float(e.max()), "fraction_within_3mm": float(np.mean(e < 3.0)),
                     "maps_with_edge_warning": int(edge), "maps_with_few_sites_warning": int(few),
                     "cog_max_error_unwarned_mm": float(clean.max()) if clean.size else None,
                     "cog_p95_error_unwarned_mm": float(np.percentile(clean, 95)) if clean.size else None,
                     "grid_build_ms": float(np.median(times)),
                     "site_depth_mm_range": [float(min(s.target.depth_mm for s in grid.sites)),
                                             float(max(s.target.depth_mm for s in grid.sites))]}
    return out


def main() -> None:
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    results = {"threshold": threshold_table()}
    results["threshold_wall_s"] = time.perf_counter() - t0
    results["hotspot"] = hotspot_table()
    results["n_subjects_threshold"] = N_SUBJECTS
    results["n_subjects_hotspot_per_head"] = N_MAP_SUBJECTS
    results["load_average_1min_at_start"] = load
    print(f"{'method':34s} {'bias':>6s} {'mean|e|':>8s} {'p95|e|':>7s} {'max|e|':>7s} "
          f"{'pulses':>7s} {'p95':>4s} {'max':>4s}")
    for name, r in results["threshold"].items():
        print(f"{name:34s} {r['bias_pct']:6.2f} {r['mean_abs_error_pct']:8.2f} {r['p95_abs_error_pct']:7.2f} "
              f"{r['max_abs_error_pct']:7.2f} {r['pulses_mean']:7.1f} {r['pulses_p95']:4.0f} {r['pulses_max']:4d}")
    for name, r in results["hotspot"].items():
        print(f"hotspot {name:12s} CoG error mean {r['cog_mean_error_mm']:.2f} p95 {r['cog_p95_error_mm']:.2f} "
              f"max {r['cog_max_error_mm']:.2f} mm, within 3 mm {100 * r['fraction_within_3mm']:.0f} %, "
              f"edge / few-sites warnings {r['maps_with_edge_warning']} / {r['maps_with_few_sites_warning']}, "
              f"max without a warning {r['cog_max_error_unwarned_mm']:.2f} mm, grid {r['grid_build_ms']:.0f} ms")
    path = ROOT / "benchmarks" / "results" / "motor_threshold.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
