"""Smoke test of an INSTALLED tmsnav (a wheel in a fresh venv), run by ``.ci/run`` from a
directory outside the checkout. Not collected by pytest (the file name is not ``test_*.py``):
the suite runs against the editable install, this script against what users get.

It checks what a wheel built without its data, or with the old top-level package names, got
wrong (issue 11):

1. one import name: ``tmsnav.app``/``tmsnav.navigation``/``tmsnav.hardware`` come from
   site-packages, and no top-level ``app``, ``navigation`` or ``hardware`` is importable;
2. the package data is there, read through ``importlib.resources``: coil definitions (non-empty
   list), the NDI tool definitions (valid .rom files), the sample head;
3. one registration on the sample head: fiducials + scalp ICP of simulated pointer touches in a
   known reference frame, the error at a cortical target checked against the truth;
4. with ``--wheel``: the wheel file lists the assets; with ``--screenshot``: the demo screenshot
   exists and is not blank.

Usage: ``python tests/smoke/wheel_smoke.py [--wheel dist/tmsnav-*.whl] [--screenshot out.png]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import zipfile
from importlib.resources import files
from pathlib import Path

import numpy as np

CHECKOUT = Path(__file__).resolve().parents[2]


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"wheel smoke FAILED: {message}")
    print(f"ok  {message}")


def check_import_names() -> None:
    import tmsnav.app
    import tmsnav.hardware
    import tmsnav.navigation

    for package in (tmsnav.app, tmsnav.navigation, tmsnav.hardware):
        location = Path(package.__path__[0]).resolve()
        check(CHECKOUT not in location.parents, f"{package.__name__} is installed, not the checkout ({location})")
    for name in ("app", "navigation", "hardware"):
        check(importlib.util.find_spec(name) is None, f"no top-level '{name}' package is installed")


def check_assets() -> None:
    from tmsnav.hardware.ndi.rom import check_tool_definition
    from tmsnav.navigation.coils import list_coil_definitions

    coils = list_coil_definitions()
    check(len(coils) >= 2, f"coil definitions listed: {[c.name for c in coils]}")
    roms = sorted(p for p in files("tmsnav.assets").joinpath("tools", "ndi").iterdir() if p.name.endswith(".rom"))
    check(len(roms) == 3, f"NDI tool definitions shipped: {[p.name for p in roms]}")
    for rom in roms:
        check_tool_definition(rom.read_bytes())
    check(True, "every .rom passes the NDI tool-definition check")


def check_registration() -> None:
    """Fiducials + ICP on the sample head with a known mri_from_reference."""
    from scipy.spatial.transform import Rotation

    from tmsnav.navigation.imaging import load_volume
    from tmsnav.navigation.registration import SurfaceIndex, register
    from tmsnav.navigation.sample_head import sample_head_fiducials
    from tmsnav.navigation.surfaces import head_surfaces

    t0 = time.perf_counter()
    head = files("tmsnav.assets").joinpath("sample_head", "mean_reg2mean.nii.gz")
    volume = load_volume(Path(str(head)))
    scalp = head_surfaces(volume, max_faces=60_000).scalp
    fiducials = sample_head_fiducials()
    rng = np.random.default_rng(11)
    rotation = Rotation.from_euler("xyz", [12.0, -20.0, 35.0], degrees=True).as_matrix()
    reference_from_mri = np.eye(4)
    reference_from_mri[:3, :3] = rotation
    reference_from_mri[:3, 3] = [40.0, -120.0, 310.0]

    def to_reference(points: np.ndarray) -> np.ndarray:
        return points @ rotation.T + reference_from_mri[:3, 3]

    touched = {name: to_reference(p + rng.normal(scale=1.0, size=3))
               for name, p in fiducials.items() if name in ("nasion", "lpa", "rpa")}
    # scalp touches: upper head (above the ear line), as a technician samples it
    points = np.asarray(scalp.points)
    upper = points[points[:, 2] > np.mean([fiducials["lpa"][2], fiducials["rpa"][2]]) + 10.0]
    picked = upper[rng.choice(len(upper), 250, replace=False)]
    scalp_ref = to_reference(picked + rng.normal(scale=0.25, size=picked.shape))
    target_mri = fiducials["nasion"] + np.array([-35.0, -60.0, 55.0])   # left frontal, inside the head
    result = register({k: fiducials[k] for k in touched}, touched, scalp_points_reference=scalp_ref,
                      surface=SurfaceIndex(scalp), targets_mri={"target": target_mri})
    truth = np.linalg.inv(reference_from_mri)
    target_ref = to_reference(target_mri)
    estimate = result.mri_from_reference.matrix @ np.append(target_ref, 1.0)
    error = float(np.linalg.norm(estimate[:3] - (truth @ np.append(target_ref, 1.0))[:3]))
    check(result.method == "fiducials+icp", f"registration ran with ICP ({result.method})")
    check(result.accepted, f"registration accepted (problems: {list(result.problems)})")
    check(error < 2.0, f"target error {error:.2f} mm < 2 mm ({time.perf_counter() - t0:.1f} s)")


def check_records() -> None:
    """The clinic database's migrations ship: a new SQLite file is created at the head schema and
    a patient round-trips (the Alembic revisions are Python files found by path at run time)."""
    import tempfile

    from tmsnav.navigation.records.database import Database, head_revision
    from tmsnav.navigation.records.repository import Records

    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(f"sqlite:///{Path(folder) / 'clinic.sqlite3'}")
        try:
            check(db.schema_revision() == head_revision(), f"database created at schema {db.schema_revision()}")
            Records(db).add_patient("SMOKE-001")
            found = [p.pseudonym for p in Records(db).find_patients("smoke")]
            check(found == ["SMOKE-001"], "a patient round-trips through the installed records package")
        finally:
            db.close()


def check_wheel(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("tmsnav/assets/sample_head/mean_reg2mean.nii.gz", "tmsnav/assets/sample_head/fiducials.json",
                   "tmsnav/assets/coils/generic-fig8-70.json", "tmsnav/assets/tools/ndi/tmsnav_pointer.rom",
                   "tmsnav/app/main.py", "tmsnav/navigation/transforms.py", "tmsnav/hardware/ndi/driver.py"):
        check(needed in names, f"wheel contains {needed}")
    tops = sorted({n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")})
    check(tops == ["tmsnav"], f"wheel's only top-level package is tmsnav ({tops})")
    check(not any(".tmsnav-cache" in n for n in names), "no surface cache in the wheel")


def check_screenshot(path: Path) -> None:
    from PIL import Image

    check(path.is_file(), f"demo screenshot written ({path})")
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    check(pixels.shape[0] > 300 and pixels.shape[1] > 300, f"screenshot is {pixels.shape[1]}x{pixels.shape[0]}")
    check(pixels.std() > 10.0 and colours > 200, f"screenshot is not blank (std {pixels.std():.0f}, {colours} colours)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--allow-checkout", action="store_true",
                        help="skip the 'installed, not the checkout' check (editable install)")
    args = parser.parse_args(argv)
    if args.wheel:
        check_wheel(args.wheel)
    if not args.allow_checkout:
        check_import_names()
    check_assets()
    check_registration()
    check_records()
    if args.screenshot:
        check_screenshot(args.screenshot)
    print("wheel smoke passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
