"""What the batch CLI writes per run: ``target.json``, ``correlation_map.nii.gz``, ``figure.png``.

All three are written into a hidden temporary folder beside the final one and moved into place
only when all of them exist, so a crash, a full disk or a killed batch never leaves a run with a
target but no map (or an old target beside a new map). A failed run gets ``error.txt`` instead,
by the same route, and any older outputs of that run are removed: a stale ``target.json`` must
never be mistaken for the result of the run that just failed.

The figure is made with ``matplotlib.figure.Figure`` + ``FigureCanvasAgg`` (no pyplot, no GUI
backend: it runs in worker processes and on headless cluster nodes). It shows three orthogonal
planes of the patient's mri space through the target, with the T1 behind the correlation map,
the search region and the cluster outlined, and the patient's left and right written on the
image: an L/R mix-up must be visible on the page.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = ["OUTPUT_FILES", "write_outputs", "write_error", "render_figure"]

OUTPUT_FILES = ("target.json", "correlation_map.nii.gz", "figure.png")
ERROR_FILE = "error.txt"
HALF_WIDTH_MM = 75.0       # each panel shows +-75 mm around the target
PIXEL_MM = 1.0


def _publish(staging: Path, final: Path) -> None:
    """Move every file of ``staging`` into ``final`` (one ``os.replace`` each), removing our other
    outputs there first, then drop ``staging``. ``final`` appears all at once when it is new."""
    if not final.exists():
        staging.rename(final)
        return
    produced = {p.name for p in staging.iterdir()}
    for name in (*OUTPUT_FILES, ERROR_FILE):
        old = final / name
        if name not in produced and old.exists():
            old.unlink()
    for item in staging.iterdir():
        os.replace(item, final / item.name)
    shutil.rmtree(staging, ignore_errors=True)


def _staging(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))


def write_outputs(result: Any, final: str | Path, *, record: dict | None = None,
                  background: tuple[np.ndarray, np.ndarray] | None = None, mri_from_space: Any = None) -> Path:
    """Write one run's three files into ``final`` (a folder). ``record``: extra keys for
    ``target.json`` (the subject label, the input kind); ``background``: the T1 as
    ``(data, mri_from_voxel)`` for the figure (grey when absent); ``mri_from_space``: the run's
    space to the patient's mri (a Transform or 4x4; needed for an MNI-space run)."""
    final = Path(final)
    staging = _staging(final)
    try:
        data = result.to_json_dict()
        data.update(record or {})
        (staging / "target.json").write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        import nibabel as nib

        nib.save(result.map_image(), str(staging / "correlation_map.nii.gz"))
        render_figure(result, staging / "figure.png", background=background, mri_from_space=mri_from_space,
                      title=str((record or {}).get("subject") or ""))
        _publish(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def write_error(final: str | Path, message: str) -> Path:
    """``error.txt`` (the message, one line) in ``final``; older outputs there are removed."""
    final = Path(final)
    staging = _staging(final)
    try:
        (staging / ERROR_FILE).write_text(message.strip().replace("\n", " ") + "\n", encoding="utf-8")
        _publish(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final / ERROR_FILE


# ----- figure -----------------------------------------------------------------------------------
def _plane_points(centre: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """mri mm of a (rows = v, columns = u) pixel grid centred on ``centre``."""
    steps = np.arange(-HALF_WIDTH_MM, HALF_WIDTH_MM + PIXEL_MM / 2, PIXEL_MM)
    cu, cv = np.meshgrid(steps, steps)                 # rows follow v, columns follow u
    pts = centre[None, None, :] + cu[..., None] * u + cv[..., None] * v
    return pts.reshape(-1, 3), cu.shape


def _sample(volume: np.ndarray, voxel_from_mri: np.ndarray, pts: np.ndarray, order: int, cval: float) -> np.ndarray:
    ijk = pts @ voxel_from_mri[:3, :3].T + voxel_from_mri[:3, 3]
    return ndi.map_coordinates(volume, ijk.T, order=order, mode="constant", cval=cval)


def render_figure(result: Any, path: str | Path, *, background: tuple[np.ndarray, np.ndarray] | None = None,
                  mri_from_space: Any = None, title: str = "") -> Path:
    """Axial, coronal and sagittal planes (patient mri axes, RAS) through ``result.target_mri_mm``.

    Shown in neurological orientation (the patient's left on the left of the axial and coronal
    panels) and labelled L/R/A/P/S/I at the edges, so nobody has to know the convention."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    target = np.asarray(result.target_mri_mm, float)
    mri_from_voxel = _mri_from_voxel(result, mri_from_space)
    voxel_from_mri = np.linalg.inv(mri_from_voxel)
    r_map = np.nan_to_num(np.asarray(result.correlation_map, np.float32), nan=0.0)
    inside = np.isfinite(np.asarray(result.correlation_map, float)).astype(np.float32)
    search = np.asarray(result.search_mask, np.float32)
    cluster = np.asarray(result.cluster_mask, np.float32)
    finite = np.asarray(result.correlation_map, float)
    finite = finite[np.isfinite(finite)]
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    limit = max(limit, 0.1)
    ex, ey, ez = np.eye(3)
    planes = (("axial", ex, ey, ("L", "R", "P", "A")), ("coronal", ex, ez, ("L", "R", "I", "S")),
              ("sagittal", ey, ez, ("P", "A", "I", "S")))
    fig = Figure(figsize=(13.0, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.02, right=0.9, bottom=0.03, top=0.86, wspace=0.05)
    image = None
    for ax, (name, u, v, letters) in zip(axes, planes):
        pts, shape = _plane_points(target, u, v)
        extent = (-HALF_WIDTH_MM, HALF_WIDTH_MM, -HALF_WIDTH_MM, HALF_WIDTH_MM)
        if background is not None:
            data, t1_from_voxel = background
            grey = _sample(np.asarray(data, np.float32), np.linalg.inv(np.asarray(t1_from_voxel, float)), pts, 1,
                           0.0).reshape(shape)
            top = float(np.percentile(grey, 99.5)) or 1.0
            ax.imshow(grey, cmap="gray", origin="lower", extent=extent, vmin=0, vmax=top)
        else:
            ax.set_facecolor("0.25")
        r = _sample(r_map, voxel_from_mri, pts, 0, 0.0).reshape(shape)
        shown = _sample(inside, voxel_from_mri, pts, 0, 0.0).reshape(shape) > 0.5
        image = ax.imshow(np.ma.masked_where(~shown, r), cmap="RdBu_r", vmin=-limit, vmax=limit, origin="lower",
                          extent=extent, alpha=0.85, interpolation="nearest")
        steps = np.arange(-HALF_WIDTH_MM, HALF_WIDTH_MM + PIXEL_MM / 2, PIXEL_MM)
        for mask, colour, width in ((search, "yellow", 1.0), (cluster, "lime", 1.8)):
            m = _sample(mask, voxel_from_mri, pts, 0, 0.0).reshape(shape)
            if m.max() > 0.5 and m.min() < 0.5:
                ax.contour(steps, steps, m, levels=[0.5], colors=colour, linewidths=width)
        ax.plot([0], [0], marker="+", color="white", markersize=16, markeredgewidth=2)
        ax.set_xlim(-HALF_WIDTH_MM, HALF_WIDTH_MM)
        ax.set_ylim(-HALF_WIDTH_MM, HALF_WIDTH_MM)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name)
        edges = ((letters[0], (0.02, 0.5), "left", "center"), (letters[1], (0.98, 0.5), "right", "center"),
                 (letters[2], (0.5, 0.02), "center", "bottom"), (letters[3], (0.5, 0.98), "center", "top"))
        for text, xy, ha, va in edges:
            ax.text(*xy, text, transform=ax.transAxes, ha=ha, va=va, color="white", fontsize=13, fontweight="bold")
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes), fraction=0.025, pad=0.02)
        bar.set_label("r with the sgACC seed")
    mni = np.asarray(result.target_mni_mm, float)
    stability = result.stability_mm
    fig.suptitle(
        f"{'sub-' + title + ': ' if title else ''}target MNI ({mni[0]:.0f}, {mni[1]:.0f}, {mni[2]:.0f}) mm, "
        f"r = {result.correlation_at_target:.2f}, cluster {result.cluster_voxels} voxels, "
        f"halves {'n/a' if not np.isfinite(stability) else f'{stability:.1f} mm'} apart"
        f"{f', {len(result.warnings)} warning(s)' if result.warnings else ''}  "
        "(yellow: search region, green: cluster, +: target)", fontsize=10)
    path = Path(path)
    fig.savefig(str(path), format="png")
    return path


def _mri_from_voxel(result: Any, mri_from_space: Any) -> np.ndarray:
    """The run's voxel -> patient mri mm: ``space_from_voxel`` itself for an mri-space run, else
    through ``mri_from_space`` (an MNI-space run cannot be drawn on the patient without it)."""
    sfv = np.asarray(result.space_from_voxel, float)
    if mri_from_space is not None:
        return np.asarray(getattr(mri_from_space, "matrix", mri_from_space), float) @ sfv
    if getattr(result.space, "value", str(result.space)) == "mri":
        return sfv
    raise ValueError("an MNI-space result needs mri_from_space to be drawn in the patient's space")
