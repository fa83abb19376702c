"""The bundled sample head: a mean T1 of real heads (pydeface's ``mean_reg2mean.nii.gz``), its
fiducials and its MNI152 affine (the brain surface placed inside it is
``tmsnav.navigation.surfaces.sample_brain``, which builds on this module, not the reverse).

Everything is in the head's mri frame (scanner RAS mm of the NIfTI, oblique affine kept exactly).
``assets/sample_head/README.md`` says how each file was made; ``build_sample_head.py`` beside it
remakes ``fiducials.json`` and ``mri_from_mni.json``.

The files are package data of ``tmsnav.assets`` (read through ``importlib.resources``, so
they are found in a wheel install as well as in the checkout).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tmsnav.assets import asset_path

from .errors import NavigationError
from .transforms import Frame, Transform

__all__ = ["sample_head_dir", "sample_head_path", "sample_head_fiducials", "sample_head_mri_from_mni"]


def sample_head_dir() -> Path:
    """The folder of the sample head files (``tmsnav.assets/sample_head``)."""
    return asset_path("sample_head")


def sample_head_path() -> Path:
    """The sample T1 (NIfTI, 176x256x256, ~1 mm, RAS, slightly oblique)."""
    path = sample_head_dir() / "mean_reg2mean.nii.gz"
    if not path.is_file():
        raise NavigationError(f"the sample head is missing from the installation: {path}")
    return path


def _read_json(name: str) -> dict:
    path = sample_head_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NavigationError(f"the sample head file {name} is missing or damaged: {exc}") from exc


def sample_head_fiducials() -> dict[str, np.ndarray]:
    """Nasion, LPA, RPA (and inion) of the sample head, mri mm (RAS: LPA has x < 0)."""
    points = _read_json("fiducials.json")["points"]
    return {name: np.array(value, dtype=float) for name, value in points.items()}


def sample_head_mri_from_mni() -> Transform:
    """Frame.MRI <- Frame.MNI affine of the sample head (MNI152 points map straight through)."""
    record = _read_json("mri_from_mni.json")
    return Transform(Frame.MRI, Frame.MNI, np.array(record["matrix"], dtype=float))
