"""Motor hotspot mapping: a grid of coil sites on the scalp around the M1 hand knob, the MEP
amplitude at each, and the amplitude-weighted centre of gravity (CoG) as the "Motor hotspot".

Grid: centred on a Target - normally the hand knob, MNI (-37, -21, 58) left / (37, -21, 58) right
(Mayka et al. 2006, NeuroImage 31:1453) mapped onto the patient's scalp by
:func:`tmsnav.navigation.targeting.literature.map_to_patient`. Rows run along the head's anterior
direction and columns along its lateral direction, both in the scalp's tangent plane at the
centre; each site is reached by walking over the scalp from the centre (a normal section, see
``scalp_geometry.walk``), so the spacing is measured *along the scalp* like a cap grid. Rows are
lettered from the most anterior (A), columns numbered from the most medial (1). Every site is a
tmsnav Target with the default posterior-lateral 45 degree handle (targets.py), the orientation
used for motor mapping (Rossini et al. 2015, Clin Neurophysiol 126:1071).

Centre of gravity: ``CoG = sum(a_i * x_i) / sum(a_i)`` over the sites, with ``a_i`` a site's
mean (or median) MEP amplitude (Wassermann EM, McShane LM, Hallett M, Cohen LG. Noninvasive
mapping of muscle representations in human motor cortex. Electroencephalogr Clin Neurophysiol
1992;85:1-8; Thickbroom GW, Byrnes ML, Mastaglia FL. A model of the effect of MEP amplitude
variation on the accuracy of TMS mapping. Clin Neurophysiol 1999;110:941-943). Sites whose
amplitude stays below 50 µV are counted as silent (weight 0), so EMG noise at the edge of the
grid does not pull the CoG toward the grid centre. The scalp CoG (weighted mean of the site scalp
points, put back on the scalp) is where the coil goes; the cortex CoG (weighted mean of the sites'
cortical points, put on the brain surface) is what is excited. Pre-activated pulses are refused
(a resting map needs a relaxed muscle).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.literature import get, map_to_patient
from tmsnav.navigation.targeting.scalp_geometry import (HeadAxes, SurfaceMesh, as_surface, closest_point,
                                                        outward_normal, unit, walk)
from tmsnav.navigation.targeting.targets import Evidence, Target, target_from_scalp
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.mep import check_amplitude_uv

__all__ = ["GridSite", "MotorGrid", "HOTSPOT_EVIDENCE", "GRID_EVIDENCE"]

RESPONSE_UV = 50.0
#: below this many responsive sites the CoG is warned as coarse: on the simulated maps (docs/
#: treatment.md) the errors above 3 mm all came from maps with 4-5 responsive sites
MIN_RESPONSIVE_SITES = 5
HOTSPOT_EVIDENCE = Evidence(
    citation=("Wassermann EM, McShane LM, Hallett M, Cohen LG. Noninvasive mapping of muscle "
              "representations in human motor cortex. Electroencephalogr Clin Neurophysiol "
              "1992;85:1-8."),
    why="Amplitude-weighted centre of gravity of this patient's MEP map over the hand knob.")
GRID_EVIDENCE = Evidence(
    citation=("Mayka MA, Corcos DM, Leurgans SE, Vaillancourt DE. Three-dimensional locations and "
              "boundaries of motor and premotor cortices as defined by functional brain imaging: a "
              "meta-analysis. NeuroImage 2006;31(4):1453-1474."),
    why="Motor-mapping grid site around the M1 hand knob.")


@dataclass
class GridSite:
    label: str                       # e.g. "C3": row C (A = most anterior), column 3 (1 = most medial)
    row: int
    col: int
    offset_mm: tuple[float, float]   # (anterior, lateral) along the scalp from the grid centre
    target: Target
    amplitudes_uv: list[float] = field(default_factory=list)


class MotorGrid:
    """A rows x cols grid of Targets with their MEPs; see the module docstring."""

    def __init__(self, centre: Target, scalp_mesh: "pv.PolyData | SurfaceMesh", head_axes: HeadAxes,
                 *, rows: int = 5, cols: int = 5, spacing_mm: float = 10.0,
                 brain_mesh: "pv.PolyData | SurfaceMesh | None" = None, statistic: str = "mean") -> None:
        if not (1 <= rows <= 26 and 1 <= cols <= 26):
            raise NavigationError(f"a grid needs 1-26 rows and columns, got {rows} x {cols}")
        if not np.isfinite(spacing_mm) or not 3.0 <= spacing_mm <= 30.0:
            raise NavigationError(f"grid spacing must be 3-30 mm along the scalp, got {spacing_mm:g}"
                                  + (" (centimetres given?)" if 0 < spacing_mm < 3 else ""))
        if statistic not in ("mean", "median"):
            raise NavigationError(f"site amplitude statistic must be 'mean' or 'median', got {statistic!r}")
        self.scalp = as_surface(scalp_mesh)
        self.brain = None if brain_mesh is None else as_surface(brain_mesh)
        self.axes, self.statistic, self.spacing_mm = head_axes, statistic, float(spacing_mm)
        self.rows, self.cols = int(rows), int(cols)
        self.centre = centre
        self.side = head_axes.side_of(centre.scalp_point_mm)
        if self.side == "midline":
            raise NavigationError("the grid centre lies on the midline: a hand-knob grid belongs over "
                                  "one hemisphere (check the head landmarks)")
        centre_pt = closest_point(self.scalp, centre.scalp_point_mm)
        n = outward_normal(self.scalp, centre_pt)
        ant = unit(head_axes.anterior - n * float(head_axes.anterior @ n), "anterior direction")
        lateral = head_axes.right if self.side == "right" else -head_axes.right
        lat = unit(lateral - n * float(lateral @ n) - ant * float(lateral @ ant), "lateral direction")
        self.sites: list[GridSite] = []
        for r in range(self.rows):
            for c in range(self.cols):
                a = ((self.rows - 1) / 2.0 - r) * self.spacing_mm   # row A is the most anterior
                lo = (c - (self.cols - 1) / 2.0) * self.spacing_mm  # column 1 the most medial
                dist = float(np.hypot(a, lo))
                p = centre_pt if dist < 1e-9 else walk(self.scalp, centre_pt, a * ant + lo * lat, dist).points[-1]
                label = f"{string.ascii_uppercase[r]}{c + 1}"
                t = target_from_scalp(f"M1 grid {label}", p, outward_normal(self.scalp, p),
                                      source="motor-grid", evidence=GRID_EVIDENCE, head_axes=head_axes,
                                      side=self.side, brain_mesh=self.brain,
                                      notes=f"{a:+.0f} mm anterior, {lo:+.0f} mm lateral of the grid centre")
                self.sites.append(GridSite(label, r, c, (a, lo), t))
        crossed = [s.label for s in self.sites if head_axes.side_of(s.target.scalp_point_mm, 0.0) != self.side]
        if crossed:
            raise NavigationError(f"grid sites {', '.join(crossed)} cross the midline: use a smaller grid "
                                  "or spacing (a hand-knob map stays over one hemisphere)")

    @classmethod
    def around_hand_knob(cls, mri_from_mni: Transform, scalp_mesh: "pv.PolyData | SurfaceMesh",
                         head_axes: HeadAxes, *, hemisphere: str = "left",
                         brain_mesh: "pv.PolyData | SurfaceMesh | None" = None, **grid_options) -> "MotorGrid":
        """Grid around the M1 hand knob of ``hemisphere`` mapped from MNI onto this head.

        The hand knob for the right hand is in the LEFT hemisphere. The side the knob lands on is
        checked against the head's own left/right (from the LPA/RPA landmarks): a mirrored MNI
        registration or swapped landmarks are refused instead of mapping the wrong hemisphere."""
        if hemisphere not in ("left", "right"):
            raise NavigationError(f"hemisphere must be 'left' or 'right', got {hemisphere!r}")
        entry = get("m1_hand_left" if hemisphere == "left" else "m1_hand_right")
        centre = map_to_patient(entry, mri_from_mni, scalp_mesh, brain_mesh, head_axes=head_axes,
                                name=f"M1 hand knob ({hemisphere})")
        landed = head_axes.side_of(centre.scalp_point_mm)
        if landed != hemisphere:
            raise NavigationError(f"the {hemisphere} M1 hand knob maps onto the {landed} side of this "
                                  "head: the MNI registration or the LPA/RPA landmarks are mirrored; "
                                  "fix them before mapping")
        return cls(centre, scalp_mesh, head_axes, brain_mesh=brain_mesh, **grid_options)

    # ----- MEPs ------------------------------------------------------------------------------------
    def site(self, key: "str | int | GridSite") -> GridSite:
        if isinstance(key, GridSite):
            key = key.label
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(self.sites):
                raise NavigationError(f"no grid site number {key} (0-{len(self.sites) - 1})")
            return self.sites[int(key)]
        for s in self.sites:
            if s.label == str(key).strip().upper() or s.target.name == key:
                return s
        raise NavigationError(f"no grid site {key!r}; sites are A1-{self.sites[-1].label}")

    def site_at(self, where: "Transform | np.ndarray", max_distance_mm: float = 5.0) -> tuple[GridSite | None, float]:
        """The grid site under a live coil (``mri_from_hotspot``) or a scalp point, and its
        distance (mm); None when the nearest site is farther than ``max_distance_mm``, so a
        pulse given off the grid is not credited to a site it missed."""
        if isinstance(where, Transform):
            if where.to_frame != Frame.MRI or where.from_frame not in (Frame.HOTSPOT, Frame.TARGET):
                raise NavigationError(f"a coil pose must be mri_from_hotspot, got {where.name}")
            p = where.matrix[:3, 3]
        else:
            p = np.asarray(where, float).reshape(3)
        d = [float(np.linalg.norm(s.target.scalp_point_mm - p)) for s in self.sites]
        k = int(np.argmin(d))
        return (self.sites[k] if d[k] <= max_distance_mm else None), d[k]

    def record(self, site: "str | int | GridSite", amplitude_uv: float, *, preactivated: bool = False) -> None:
        """Add one MEP (peak-to-peak µV) at ``site``; a pre-activated pulse is refused."""
        if preactivated:
            raise NavigationError("this MEP was given into a contracted muscle: it is left out of the "
                                  "resting map; ask the patient to relax and repeat the pulse")
        self.site(site).amplitudes_uv.append(check_amplitude_uv(amplitude_uv))

    def site_amplitude_uv(self, site: "str | int | GridSite") -> float | None:
        a = self.site(site).amplitudes_uv
        if not a:
            return None
        return float(np.mean(a) if self.statistic == "mean" else np.median(a))

    # ----- centre of gravity -----------------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        amps = [self.site_amplitude_uv(s) for s in self.sites]
        w = np.array([0.0 if a is None or a < RESPONSE_UV else a for a in amps])
        if not np.any(w > 0):
            measured = sum(a is not None for a in amps)
            raise NavigationError(f"no grid site gave a mean MEP >= 50 µV ({measured} of {len(amps)} "
                                  "sites measured): raise the output or move the grid")
        return w

    def centre_of_gravity_mm(self) -> np.ndarray:
        """Amplitude-weighted CoG of the site scalp points, put back on the scalp (mri mm)."""
        w = self._weights()
        pts = np.array([s.target.scalp_point_mm for s in self.sites])
        return closest_point(self.scalp, w @ pts / w.sum())

    def cortex_centre_of_gravity_mm(self) -> np.ndarray | None:
        """Amplitude-weighted CoG of the sites' cortical points, on the brain surface (None
        without a brain mesh)."""
        if self.brain is None:
            return None
        w = self._weights()
        pts = np.array([s.target.cortex_point_mm for s in self.sites])
        return closest_point(self.brain, w @ pts / w.sum())

    def warnings(self) -> list[str]:
        """Reasons to distrust the CoG: too few responsive sites, or a map cut by the grid edge."""
        w = self._weights()
        out = []
        responsive = int(np.sum(w > 0))
        if responsive < MIN_RESPONSIVE_SITES:
            out.append(f"only {responsive} site(s) gave MEPs >= 50 µV: with so few the CoG is coarse "
                       "(off by up to about half the spacing); raise the output a little or use a "
                       "finer spacing")
        edge = [s for s, wi in zip(self.sites, w) if wi > 0 and (s.row in (0, self.rows - 1)
                                                                or s.col in (0, self.cols - 1))]
        if edge and max(w[self.sites.index(s)] for s in edge) >= 0.5 * w.max():
            out.append("large MEPs on the edge of the grid (" + ", ".join(s.label for s in edge[:4])
                       + "): the map may continue outside it and the CoG is pulled inward; move or "
                       "enlarge the grid")
        return out

    def to_hotspot_target(self, name: str = "Motor hotspot") -> Target:
        """The CoG as a Target (coil on the scalp CoG, default handle; cortex point = cortex CoG)."""
        scalp_cog = self.centre_of_gravity_mm()
        n_used = int(np.sum(self._weights() > 0))
        notes = [f"amplitude-weighted centre of gravity of {n_used} responsive of {len(self.sites)} "
                 f"sites ({self.statistic} MEP per site)", *self.warnings()]
        t = target_from_scalp(name, scalp_cog, outward_normal(self.scalp, scalp_cog), source="motor-hotspot",
                              evidence=HOTSPOT_EVIDENCE, head_axes=self.axes, side=self.side,
                              notes="; ".join(notes))
        cortex = self.cortex_centre_of_gravity_mm()
        return t if cortex is None else t.with_changes(cortex_point_mm=cortex)

    def hotspot_event(self) -> dict:
        """The record written to the event log (kind "motor_hotspot")."""
        t = self.to_hotspot_target()
        return {"target": t.to_dict(), "statistic": self.statistic, "spacing_mm": self.spacing_mm,
                "grid": f"{self.rows}x{self.cols}", "warnings": self.warnings(),
                "sites": [{"label": s.label, "n": len(s.amplitudes_uv),
                           "amplitude_uv": self.site_amplitude_uv(s)} for s in self.sites]}
