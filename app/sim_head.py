"""Build the simulated patient (:class:`tmsnav.hardware.simulation.head.HeadGeometry`) from the loaded head.

Hardware never imports navigation, so the app hands the simulator plain arrays: scalp vertices
and outward normals (decimated), the marked landmarks, and the planned targets as 4x4 poses.
"""

from __future__ import annotations

import numpy as np

from tmsnav.hardware.simulation.head import HeadGeometry

__all__ = ["head_geometry_for"]

MAX_VERTICES = 6000


def head_geometry_for(head, targets=None) -> HeadGeometry | None:
    """None when the head has no scalp or no landmarks (the simulator then uses its own head)."""
    if head is None or head.scalp is None or not head.fiducials_mm:
        return None
    scalp = head.scalp
    if "Normals" not in scalp.point_data:
        scalp = scalp.compute_normals(auto_orient_normals=True)
    points = np.asarray(scalp.points)
    normals = np.asarray(scalp.point_data["Normals"])
    if len(points) > MAX_VERTICES:
        idx = np.random.default_rng(0).choice(len(points), MAX_VERTICES, replace=False)
        points, normals = points[idx], normals[idx]
    landmarks = {k: np.asarray(v, float) for k, v in head.fiducials_mm.items()}
    poses = {}
    active = targets.active if targets is not None else None
    ordered = ([active] if active is not None else []) + [t for t in (targets or []) if t is not active]
    for t in ordered:  # the simulated coil goes to the first one: the active target
        poses[t.name] = t.mri_from_target.matrix
    return HeadGeometry(points, normals, landmarks, poses)
