"""Meshes that stand for the tracked tools in the 3-D view, built in the tool's own frame.

The pointer glyph lives in the ``pointer_tip`` frame (tip at the origin, shaft toward the marker);
the coil glyph lives in the ``hotspot`` frame (face at z = 0, +z into the head, +y handle), so the
view only sets each actor's matrix to ``mri_from_pointer_tip`` / ``mri_from_hotspot`` per frame.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

__all__ = ["pointer_glyph", "coil_glyph", "generic_coil_mesh"]


def pointer_glyph(tip_offset_mm: np.ndarray | None) -> pv.PolyData:
    """A needle from the tip (origin) back toward the marker, plus a ball at the tip."""
    offset = np.asarray(tip_offset_mm if tip_offset_mm is not None else [0, 0, -150.0], float)
    length = float(np.linalg.norm(offset)) or 150.0
    back = -offset / length  # from the tip toward the marker, in tip (= pointer) axes
    cone = pv.Cone(center=back * 10.0, direction=-back, height=20.0, radius=2.5, resolution=24)
    shaft = pv.Cylinder(center=back * (20.0 + (length - 20.0) / 2), direction=back,
                        radius=2.0, height=length - 20.0, resolution=24)
    tip = pv.Sphere(radius=1.5, center=(0, 0, 0))
    return cone.merge(shaft).merge(tip)


def generic_coil_mesh() -> pv.PolyData:
    """A figure-of-eight casing (two wings side by side along x), handle along +y, face at z=0."""
    wings = []
    for x in (-45.0, 45.0):
        wings.append(pv.Cylinder(center=(x, 0, -6.0), direction=(0, 0, 1), radius=44.0,
                                 height=12.0, resolution=48))
    handle = pv.Cylinder(center=(0, 100.0, -10.0), direction=(0, 1, 0), radius=14.0, height=110.0,
                         resolution=24)
    mesh = wings[0].merge(wings[1]).merge(handle)
    return mesh.triangulate()


def coil_glyph(casing: pv.PolyData | None = None) -> pv.PolyData:
    """Casing plus a 40 mm line along +z that shows where the coil points into the head."""
    body = (casing if casing is not None else generic_coil_mesh()).triangulate()
    axis = pv.Line((0, 0, 0), (0, 0, 40.0))
    centre = pv.Sphere(radius=2.0, center=(0, 0, 0))
    return body.merge(axis).merge(centre)
