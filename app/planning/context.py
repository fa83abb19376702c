"""What a planning job needs, captured on the GUI thread and handed to the worker thread.

The scalp and brain lookup structures are built once per head, on the GUI thread, as
:func:`worker_safe_surface` meshes (about 0.4 s for a 150k-triangle scalp): after that the
worker's geometry is pure numpy and never calls VTK, which deadlocked against the 3-D view's
render callbacks when the worker used VTK's cell locator. Arrays handed to jobs are copies.
Only one job runs at a time (``MainWindow._run`` refuses a second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.planning import find_fiducial, head_axes_from
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, SurfaceMesh
from tmsnav.navigation.targeting.worker_mesh import worker_safe_surface
from tmsnav.navigation.transforms import Transform

__all__ = ["HeadGeometry", "PlanContext", "LANDMARK_NAMES"]

LANDMARK_NAMES = ("nasion", "inion", "lpa", "rpa")


class HeadGeometry:
    """Scalp/brain of one loaded head with their lookup structures (build on the GUI thread)."""

    def __init__(self, head) -> None:
        self.head = head
        if head is None or head.scalp is None or head.scalp.n_points == 0:
            raise NavigationError("load an MRI with a scalp surface first (File > Open)")
        self.scalp: SurfaceMesh = worker_safe_surface(head.scalp)
        has_brain = head.brain is not None and head.brain.n_points > 0
        self.brain: SurfaceMesh | None = worker_safe_surface(head.brain) if has_brain else None
        self.brain_polydata: pv.PolyData | None = head.brain if has_brain else None
        self.scalp_points = np.array(self.scalp.vertices, dtype=float)
        self.brain_points = None if self.brain is None else np.array(self.brain.vertices, float)
        self.brain_faces = None if self.brain is None else np.array(self.brain.faces, np.int64)
        self.fiducials = dict(head.fiducials_mm or {})


@dataclass
class PlanContext:
    """A snapshot of the planning inputs for one job (arrays are copies)."""

    geometry: HeadGeometry
    cursor_mm: np.ndarray
    mri_from_mni: Transform | None
    landmark_overrides: dict[str, np.ndarray] = field(default_factory=dict)
    existing_names: tuple[str, ...] = ()

    def head_axes_or_none(self) -> HeadAxes | None:
        """Head axes from nasion/LPA/RPA when all three are known, else None (image axes).
        Swapped ears still raise: a silent fallback would hide a left/right error."""
        for name in ("nasion", "lpa", "rpa"):
            if self.landmark_overrides.get(name) is None and \
                    find_fiducial(self.geometry.fiducials, name) is None:
                return None
        return head_axes_from(self.geometry.fiducials, self.landmark_overrides)
