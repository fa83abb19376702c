"""A qEEG suggestion becomes a normal tmsnav target: the electrode's point on this scalp, the coil
axis along the inward scalp normal, and the cortical point beneath it where that axis meets the
brain surface (``navigation.targeting.targets.target_from_scalp`` / ``cortex_below``, the same
tail every scalp heuristic of the Planning tab uses).

The target's evidence carries the suggestion's reasons with their numbers and its citations, so
the target list, the session file and the guidance "why" box say why the coil goes there. The
side comes from the suggestion (F3 is left); the handle follows tmsnav's default orientation
(posterior-lateral 45 degrees, see ``targets.default_handle_direction``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.progress import report
from tmsnav.navigation.targeting.scalp_geometry import HeadAxes, closest_point, outward_normal
from tmsnav.navigation.targeting.targets import Evidence, Target, target_from_scalp

from ..planning.context import HeadGeometry

__all__ = ["suggestion_evidence", "suggestion_target", "SIDES"]

SIDES = ("left", "right", "midline")


def suggestion_evidence(s: Any) -> Evidence:
    """Evidence record of a suggestion: its citations and every reason with its number."""
    freq = "" if s.frequency_hz is None else f", {s.frequency_hz:g} Hz"
    why = (f"qEEG suggestion: {s.site} ({s.side}){freq}, {s.protocol}. "
           + " ".join(r.rstrip(".") + "." for r in s.reasons)
           + " Decision support: the clinician confirms.")
    return Evidence(citation="; ".join(s.citations) or "qEEG rule table (docs/qeeg.md)", why=why)


def suggestion_target(s: Any, name: str, electrode_mm: np.ndarray, geometry: HeadGeometry,
                      head_axes: HeadAxes, progress: Any = None, cancel: Any = None) -> Target:
    """The target for suggestion ``s`` at ``electrode_mm`` (mri mm); needs a brain surface."""
    if geometry.brain is None:
        raise NavigationError("A qEEG target needs the brain (cortex) surface to find the cortical "
                              "point beneath the electrode, and this head has none. Load one "
                              "(File > Load brain surface) or register to MNI for the template brain.")
    report(progress, 0.2, f"{s.site} on the scalp", cancel)
    scalp_point = closest_point(geometry.scalp, np.asarray(electrode_mm, float))
    normal = outward_normal(geometry.scalp, scalp_point)
    report(progress, 0.6, "cortex beneath the electrode", cancel)
    side = s.side if s.side in SIDES else None
    return target_from_scalp(name, scalp_point, normal, source="qeeg", evidence=suggestion_evidence(s),
                             head_axes=head_axes, side=side, brain_mesh=geometry.brain,
                             notes=f"electrode {s.site} on this head")
