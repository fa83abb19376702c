"""Rebuild the sample head's fiducials.json and mri_from_mni.json (run once; results are committed).

    .venv/bin/python assets/sample_head/build_sample_head.py [--png DIR]

Needs the installed ``mne`` (fsaverage head surface, fiducials and 10-05 positions, read from the
mne wheel, no download) and ``nilearn`` only for the optional overlay PNGs.

Fiducials (mri mm of mean_reg2mean.nii.gz):
* midsagittal plane: the plane that best maps the scalp onto its mirror image (Nelder-Mead on
  the mean nearest-neighbour distance of mirrored scalp points above z = -40 mm);
* nasion: deepest point of the anterior midline scalp profile between the nose tip (most
  anterior point below z = -40) and the glabella (most anterior point above z = -25);
* LPA / RPA: the skin just in front of each tragus, picked BY EYE on zoomed orthographic side
  renders (y, z below) and placed on the scalp by casting a ray from outside along x;
* inion: template-derived: fsaverage's 10-05 "Iz" mapped through mri_from_mni and moved to the
  nearest scalp point (the external occipital protuberance is not visible on this mean image).

mri_from_mni: an affine fit of fsaverage's scalp (mne ``fsaverage-head.fif``, MNI305 mapped to
MNI152 with FreeSurfer's linear matrix) to this head's scalp over the cranium (points more than
10 mm above the fsaverage nasion), started from the similarity transform of the three fiducial
pairs, point-to-plane distances with a soft-L1 loss (robust to ears/hair). Intensity-based fits
of the skull-stripped MNI template to this skull-on image were unstable (scale 1.07-1.14 without
masks; each masked refinement round shrinks it by ~4 %, so the result depends on the number of
rounds), which is why the skull-independent scalp fit is used for the stored matrix.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.spatial import cKDTree

HERE = Path(__file__).resolve().parent

# tmsnav must be installed (pip install -e . in the checkout): it is imported by its package name.
from tmsnav.navigation.surfaces.extract import extract_scalp  # noqa: E402

# MNI305 -> MNI152 (FreeSurfer CoordinateSystems)
MNI152_FROM_MNI305 = np.array([[0.9975, -0.0073, 0.0176, -0.0429], [0.0146, 1.0009, -0.0024, 1.5496],
                               [-0.0130, -0.0093, 0.9971, 1.1840], [0.0, 0.0, 0.0, 1.0]])
# By eye on orthographic side renders (mm): just in front of the tragus, at the tragus' height.
LPA_YZ = (9.0, -52.0)
RPA_YZ = (-4.0, -52.0)


def midsagittal_plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    tree = cKDTree(points)
    upper = points[points[:, 2] > -40][::5]

    def normal(v):
        n = np.array([np.cos(v[1]) * np.cos(v[2]), np.sin(v[1]), np.sin(v[2])])
        return n / np.linalg.norm(n)

    def cost(v):
        n = normal(v)
        d = (upper - [v[0], 0, 0]) @ n
        return tree.query(upper - 2 * d[:, None] * n)[0].mean()

    best = min((minimize(cost, [x0, 0, 0], method="Nelder-Mead") for x0 in (-10.0, -5.0, 0.0)),
               key=lambda r: r.fun)
    return normal(best.x), float(best.x[0])


def pick_nasion(points: np.ndarray, normal: np.ndarray, x0: float) -> np.ndarray:
    mid = points[np.abs((points - [x0, 0, 0]) @ normal) < 1.0]
    heights = np.arange(-50.0, 0.0, 1.0)
    profile = np.array([mid[np.abs(mid[:, 2] - z) < 0.5][np.argmax(mid[np.abs(mid[:, 2] - z) < 0.5][:, 1])]
                        for z in heights])
    tip = int(np.argmax(np.where(heights < -40, profile[:, 1], -np.inf)))
    glabella = int(np.argmax(np.where(heights > -25, profile[:, 1], -np.inf)))
    return profile[tip + int(np.argmin(profile[tip:glabella + 1, 1]))]


def ray_to_scalp(mesh, y: float, z: float, side: float) -> np.ndarray:
    hits, _ = mesh.ray_trace([side * 250.0, y, z], [0.0, y, z], first_point=True)
    return np.asarray(hits, dtype=float)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) least-squares similarity dst ~ s R src + t."""
    ms, md = src.mean(0), dst.mean(0)
    u, s, vt = np.linalg.svd((dst - md).T @ (src - ms))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / ((src - ms) ** 2).sum()
    out = np.eye(4)
    out[:3, :3] = scale * rot
    out[:3, 3] = md - scale * rot @ ms
    return out


def fsaverage_in_mni152() -> dict:
    import mne

    base = Path(mne.__file__).parent / "data" / "fsaverage"
    scalp = mne.read_bem_surfaces(str(base / "fsaverage-head.fif"), verbose=False)[0]["rr"] * 1000.0
    fids = mne.io.read_fiducials(str(base / "fsaverage-fiducials.fif"))[0]
    names = {1: "lpa", 2: "nasion", 3: "rpa"}
    out = {names[f["ident"]]: f["r"] * 1000.0 for f in fids}
    montage = Path(mne.__file__).parent / "channels" / "data" / "montages" / "fsaverage_1005.tsv"
    for line in montage.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "Iz":
            out["inion"] = np.array([float(v) for v in parts[1:4]]) * 1000.0
    out["scalp"] = scalp
    m = MNI152_FROM_MNI305
    return {k: v @ m[:3, :3].T + m[:3, 3] for k, v in out.items()}


def fit_scalp_affine(template: dict, mesh, start: np.ndarray) -> tuple[np.ndarray, dict]:
    points, normals = np.asarray(mesh.points), np.asarray(mesh.point_data["Normals"])
    tree = cKDTree(points)
    cranium = template["scalp"][template["scalp"][:, 2] > template["nasion"][2] + 10.0]

    def apply(p, base):
        lin = np.eye(3) + p[:9].reshape(3, 3)
        out = base.copy()
        out[:3, :3] = lin @ base[:3, :3]
        out[:3, 3] = lin @ base[:3, 3] + p[9:]
        return out

    def residuals(p, base):
        q = cranium @ apply(p, base)[:3, :3].T + apply(p, base)[:3, 3]
        _, i = tree.query(q)
        return np.einsum("ij,ij->i", q - points[i], normals[i])

    matrix = start
    for _ in range(6):
        result = least_squares(residuals, np.zeros(12), args=(matrix,), loss="soft_l1", f_scale=3.0)
        matrix = apply(result.x, matrix)
    r = residuals(np.zeros(12), matrix)
    return matrix, {"icp_points": int(len(cranium)), "rms_mm": float(np.sqrt(np.mean(r ** 2))),
                    "median_abs_mm": float(np.median(np.abs(r)))}


def write_overlays(image, mri_from_mni: np.ndarray, fids: dict, mesh, out: Path) -> None:
    """Three planes of the head with the MNI brain (GM+WM > 0.5) contour; renders with fiducials."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyvista as pv
    from scipy import ndimage as ndi

    from tmsnav.navigation.targeting.mni_registration import load_mni_template

    out.mkdir(parents=True, exist_ok=True)
    gm, mni_from_voxel = load_mni_template("gm")
    wm, _ = load_mni_template("wm")
    head = np.asarray(image.dataobj, dtype=np.float32)
    tpl_from_head = np.linalg.inv(mni_from_voxel) @ np.linalg.inv(mri_from_mni) @ image.affine
    brain = ndi.affine_transform(gm + wm, tpl_from_head[:3, :3], tpl_from_head[:3, 3],
                                 output_shape=head.shape, order=1)
    c = np.array(head.shape) // 2
    fig, axes = plt.subplots(1, 3, figsize=(18, 7))
    for ax, cut in zip(axes, (np.s_[c[0]], np.s_[:, c[1]], np.s_[:, :, c[2] + 20])):
        ax.imshow(head[cut].T, origin="lower", cmap="gray")
        ax.contour(brain[cut].T, [0.5], colors="r", linewidths=0.8)
    fig.suptitle("MNI152 GM+WM > 0.5 (red) on the sample head through mri_from_mni")
    fig.savefig(out / "sample_head_brain_overlay.png", dpi=60)
    plotter = pv.Plotter(off_screen=True, shape=(1, 4), window_size=(2000, 500))
    for i, view in enumerate(("left", "front", "right", "back")):
        plotter.subplot(0, i)
        plotter.add_mesh(mesh, color="peachpuff", smooth_shading=True)
        for name, point in fids.items():
            plotter.add_mesh(pv.Sphere(radius=2.5, center=point), color="red" if name != "inion" else "blue")
        {"left": lambda: plotter.view_yz(negative=True), "front": lambda: plotter.view_xz(negative=True),
         "right": plotter.view_yz, "back": plotter.view_xz}[view]()
        plotter.enable_parallel_projection()
    plotter.screenshot(str(out / "sample_head_fiducials.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, help="write overlay and fiducial renders here")
    args = parser.parse_args()
    import nibabel as nib

    image = nib.load(str(HERE / "mean_reg2mean.nii.gz"))
    mesh = extract_scalp(image, max_faces=400_000)
    points = np.asarray(mesh.points)
    normal, x0 = midsagittal_plane(points)
    fids = {"nasion": pick_nasion(points, normal, x0),
            "lpa": ray_to_scalp(mesh, *LPA_YZ, side=-1.0),
            "rpa": ray_to_scalp(mesh, *RPA_YZ, side=1.0)}
    template = fsaverage_in_mni152()
    start = similarity(np.array([template[k] for k in ("nasion", "lpa", "rpa")]),
                       np.array([fids[k] for k in ("nasion", "lpa", "rpa")]))
    mri_from_mni, stats = fit_scalp_affine(template, mesh, start)
    inion_guess = mri_from_mni[:3, :3] @ template["inion"] + mri_from_mni[:3, 3]
    fids["inion"] = points[cKDTree(points).query(inion_guess)[1]]
    residual = {k: float(np.linalg.norm(mri_from_mni[:3, :3] @ template[k] + mri_from_mni[:3, 3] - fids[k]))
                for k in ("nasion", "lpa", "rpa")}
    how = {
        "nasion": "automatic: deepest point of the anterior midline scalp profile between nose tip and glabella",
        "lpa": f"by eye on orthographic renders: skin just anterior to the left tragus (y, z = {LPA_YZ} mm), "
               "placed on the scalp by a ray along +x",
        "rpa": f"by eye on orthographic renders: skin just anterior to the right tragus (y, z = {RPA_YZ} mm), "
               "placed on the scalp by a ray along -x",
        "inion": "template-derived: fsaverage 10-05 'Iz' through mri_from_mni, moved to the nearest scalp point",
    }
    fid_json = {"frame": "mri", "units": "mm", "image": "mean_reg2mean.nii.gz",
                "midsagittal_plane": {"normal": normal.round(5).tolist(), "x_at_origin_mm": round(x0, 3)},
                "points": {k: [round(float(v), 2) for v in fids[k]] for k in ("nasion", "lpa", "rpa", "inion")},
                "how": how}
    (HERE / "fiducials.json").write_text(json.dumps(fid_json, indent=2) + "\n")
    reg_json = {"to": "mri", "from": "mni", "matrix": [[round(float(x), 6) for x in row] for row in mri_from_mni],
                "computed_by": "assets/sample_head/build_sample_head.py",
                "template": "MNI152 (ICBM 2009a sym, nilearn) via fsaverage (MNI305) scalp and FreeSurfer's "
                            "MNI305->MNI152 linear matrix",
                "method": "12-parameter affine: fiducial similarity start, point-to-plane soft-L1 ICP of the "
                          "fsaverage cranium (mne fsaverage-head.fif) onto this head's scalp (extract_scalp, "
                          "400k faces); see build_sample_head.py",
                "fit": stats, "scales": np.linalg.svd(mri_from_mni[:3, :3])[1].round(4).tolist(),
                "fiducial_distance_mm": {k: round(v, 2) for k, v in residual.items()}}
    text = json.dumps(reg_json, indent=2)
    for row in reg_json["matrix"]:  # one matrix row per line
        text = text.replace(json.dumps(row, indent=2).replace("\n", "\n    "), json.dumps(row), 1)
    (HERE / "mri_from_mni.json").write_text(text + "\n")
    print(json.dumps(fid_json["points"]), json.dumps(stats), json.dumps(reg_json["fiducial_distance_mm"]))
    if args.png:
        write_overlays(image, mri_from_mni, fids, mesh, args.png)


if __name__ == "__main__":
    main()
