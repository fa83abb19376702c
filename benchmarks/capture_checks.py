"""Benchmark: how often the fiducial capture checks refuse a right touch, and how often they
catch and name the usual mistakes (``navigation/registration/capture_checks.py``).

Workload
--------
Two heads, neither the sample head the app's defaults were looked at on: an adult head's
landmarks in MNI-like coordinates with an inion and a left-temple mark (5 landmarks), and the
phantom generator's head (``navigation/phantom.py``: nasion, LPA, RPA). Each trial places the
head reference at a random rigid pose and touches every landmark with a localisation error drawn
uniformly inside a ball of radius FLE (2 and 4 mm; anatomical landmarks are touched within
2-5 mm, Fitzpatrick 1998). Per head and FLE, 500 trials:

* **false refusals**: right touches refused by ``check_capture`` (each landmark given those
  touched before it) — should be 0;
* **false causes**: right sets for which ``diagnose_fit`` names a cause — should be 0;
* **swap named**: LPA and RPA exchanged, named "swap" (impossible with three landmarks: a
  mirror; the phantom row shows it);
* **shift named**: the first capture is the pivot divot and every later touch is the landmark
  asked before it, named "shift";
* **pause refused**: the hand pauses 30-70 % of the straight way from the 2nd to the 3rd
  landmark, 20 mm off the skin, while the 3rd is asked: refused.

Run: ``.venv/bin/python benchmarks/capture_checks.py`` -> table +
``benchmarks/results/capture_checks.json``. Takes about a minute on one core.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.registration.capture_checks import check_capture, diagnose_fit

# Where results are written: the checkout this script is in. The code under test is the installed
# tmsnav (pip install -e .), never the checkout put on sys.path.
ROOT = Path(__file__).resolve().parents[1]

TRIALS = 500
ADULT = {"nasion": np.array([0.0, 85.0, -40.0]), "lpa": np.array([-82.0, -20.0, -48.0]),
         "rpa": np.array([83.0, -19.0, -47.0]), "inion": np.array([0.0, -112.0, -25.0]),
         "left_temple": np.array([-70.0, 30.0, 20.0])}
DIVOT_MRI = np.array([150.0, 110.0, -90.0])


def touched(mri: dict, rng: np.random.Generator, fle_mm: float):
    rot = Rotation.random(random_state=rng).as_matrix()
    shift = rng.uniform(-300, 300, 3) + [0, 0, -1400]

    def to_ref(p):
        return np.asarray(p, float) @ rot.T + shift

    out = {}
    for k, v in mri.items():
        e = rng.normal(size=3)
        out[k] = to_ref(v + fle_mm * rng.uniform() ** (1 / 3) * e / np.linalg.norm(e))
    return out, to_ref


def run_head(mri: dict, fle_mm: float, rng: np.random.Generator) -> dict:
    names = list(mri)
    counts = dict(false_refusals=0, touches=0, false_causes=0, swap_named=0, shift_named=0,
                  pause_refused=0)
    for _ in range(TRIALS):
        t, to_ref = touched(mri, rng, fle_mm)
        for i, name in enumerate(names):
            counts["touches"] += 1
            counts["false_refusals"] += not check_capture(name, t[name], mri,
                                                          {n: t[n] for n in names[:i]}).ok
        counts["false_causes"] += diagnose_fit(mri, t, names) is not None
        d = diagnose_fit(mri, dict(t, lpa=t["rpa"], rpa=t["lpa"]), names)
        counts["swap_named"] += d is not None and d.kind == "swap"
        shifted = {names[0]: to_ref(DIVOT_MRI)}
        for prev, name in zip(names, names[1:]):
            shifted[name] = t[prev]
        d = diagnose_fit(mri, shifted, names)
        counts["shift_named"] += d is not None and d.kind == "shift"
        f = rng.uniform(0.3, 0.7)
        p = (1 - f) * t[names[1]] + f * t[names[2]]
        centre = np.mean([t[n] for n in names], axis=0)
        p = p + 20.0 * (p - centre) / np.linalg.norm(p - centre)
        counts["pause_refused"] += not check_capture(names[2], p, mri,
                                                     {n: t[n] for n in names[:2]}).ok
    return counts


def main() -> dict:
    rng = np.random.default_rng(20261204)
    ph = make_phantom_head(4.0)
    heads = {"adult (5 landmarks)": ADULT,
             "phantom (3 landmarks)": {"nasion": np.array(ph.nasion), "lpa": np.array(ph.lpa),
                                       "rpa": np.array(ph.rpa)}}
    results: dict = {"trials": TRIALS}
    print(f"{'head':24s} {'FLE':>5s} {'false refusals':>15s} {'false causes':>13s} "
          f"{'swap named':>11s} {'shift named':>12s} {'pause refused':>14s}")
    for label, mri in heads.items():
        for fle in (2.0, 4.0):
            c = run_head(mri, fle, rng)
            key = f"{'adult' if label.startswith('adult') else 'phantom'}_fle_{fle:.0f}mm"
            results.update({f"{name}_{key}": value for name, value in c.items()})
            print(f"{label:24s} {fle:4.0f}  {c['false_refusals']:6d}/{c['touches']:<8d} "
                  f"{c['false_causes']:6d}/{TRIALS:<6d} {c['swap_named']:4d}/{TRIALS:<6d} "
                  f"{c['shift_named']:5d}/{TRIALS:<6d} {c['pause_refused']:6d}/{TRIALS}")
    out = ROOT / "benchmarks" / "results" / "capture_checks.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
