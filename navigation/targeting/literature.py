"""Library of published MNI152 target coordinates, and their mapping onto a patient's head.

Coordinates are MNI152 RAS mm (left hemisphere x < 0). Every entry names the sources that
*state* its coordinate (:data:`SOURCES`, keys in ``LiteratureTarget.sources``), so that a
citation never points at a document that does not contain the number (issue 10, defect 9):

* Fox et al. 2012 (Biol Psychiatry 72:595) is the primary source of the DLPFC coordinates and of
  the subgenual cingulate seed. Its "optimized" connectivity-based coordinates lie in BA46 (its
  abstract); (−38, 44, 26) is the group target usually taken from it (the peak of its
  efficacy-based seed map) and (−44, 38, 34) the peak of its subgenual-seed map.
* The NIMH ConTarg package re-states, in its README's ROI recipe (AFNI ``3dcalc`` spheres whose
  signs are flipped because AFNI works in RAI), the subgenual seed (6, 16, −10) with a 10 mm
  radius and the four a-priori DLPFC sites (BA9, BA46, average 5-cm, average F3) with 20 mm; it
  credits the ROIs to Cash et al. That recipe does **not** contain (−38, 44, 26) or
  (−44, 38, 34), so those entries cite Fox 2012 alone.

Projection to the scalp (:func:`map_to_patient`): the coil entry point is the *closest scalp
point* to the cortical point, and the coil normal is the inward scalp normal there. This is what
SimNIBS does for a coil position given inside the head (``Msh.calc_matsimnibs``: closest skin
node, z = -node normal). It has a useful property: for a closest point on a smooth surface, the
vector to the target is along the surface normal, so the coil axis passes through the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import (HeadAxes, SurfaceMesh, as_surface, closest_point,
                                                        outward_normal)
from tmsnav.navigation.targeting.targets import Evidence, Target, default_handle_direction
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["LiteratureTarget", "LIBRARY", "SOURCES", "Source", "get", "stimulable",
           "map_to_patient"]


@dataclass(frozen=True)
class Source:
    """A document that states a coordinate: the reference and where in it to look."""

    citation: str
    doi: str | None = None
    where: str = ""


SOURCES: dict[str, Source] = {
    "fox2012": Source(
        "Fox MD, Buckner RL, White MP, Greicius MD, Pascual-Leone A. Efficacy of transcranial "
        "magnetic stimulation targets for depression is related to intrinsic functional "
        "connectivity with the subgenual cingulate. Biol Psychiatry 2012;72(7):595-603.",
        "10.1016/j.biopsych.2012.04.028",
        "primary source: the DLPFC TMS sites compared, the subgenual seed, and the optimized "
        "connectivity-based coordinates (BA46)"),
    "contarg": Source(
        "NIMH ConTarg (github.com/nih-fmrif/contarg), README section 'ROIs': spherical ROIs "
        "credited to Cash et al.",
        None,
        "re-statement of the subgenual seed (10 mm sphere) and the BA9, BA46, 5-cm and F3 "
        "sites (20 mm spheres); AFNI RAI signs"),
    "weigand2018": Source(
        "Weigand A, Horn A, Caballero R, et al. Prospective validation that subgenual "
        "connectivity predicts antidepressant efficacy of transcranial magnetic stimulation "
        "sites. Biol Psychiatry 2018;84(1):28-37.",
        None,
        "coordinate from a secondary source; not checked against the paper"),
    "mayka2006": Source(
        "Mayka MA, Corcos DM, Leurgans SE, Vaillancourt DE. Three-dimensional locations and "
        "boundaries of motor and premotor cortices as defined by functional brain imaging: a "
        "meta-analysis. NeuroImage 2006;31(4):1453-1474.",
        None,
        "left M1 hand coordinate, as used in the SimNIBS examples (mni2subject_coords)"),
}


@dataclass(frozen=True)
class LiteratureTarget:
    key: str
    name: str
    mni_mm: tuple[float, float, float]
    sources: tuple[str, ...]          # keys of SOURCES that state this coordinate, primary first
    why: str
    stimulable: bool = True
    status: str = "published"  # or "alternate", "secondary source, unverified", "seed"

    def __post_init__(self) -> None:
        unknown = [k for k in self.sources if k not in SOURCES]
        if not self.sources or unknown:
            raise ValueError(f"{self.key}: every entry needs known sources, got {self.sources}")

    @property
    def citation(self) -> str:
        """The primary source, then each re-statement (what the Evidence shows)."""
        first, *more = (SOURCES[k] for k in self.sources)
        text = first.citation
        if more:
            text += " Re-stated in: " + " ".join(m.citation for m in more)
        return text

    @property
    def doi(self) -> str | None:
        return SOURCES[self.sources[0]].doi

    @property
    def evidence(self) -> Evidence:
        why = self.why if self.status == "published" else f"{self.why} [{self.status}]"
        return Evidence(citation=self.citation, why=why, doi=self.doi)


LIBRARY: tuple[LiteratureTarget, ...] = (
    LiteratureTarget("fox2012", "L-DLPFC Fox 2012 group target", (-38, 44, 26), ("fox2012",),
                     "Fox 2012's optimized group target in BA46 (the peak of its efficacy-based "
                     "seed map), anticorrelated with the subgenual cingulate; sites closer to it "
                     "had better antidepressant response."),
    LiteratureTarget("fox2012_alt", "L-DLPFC Fox 2012 subgenual-seed peak", (-44, 38, 34),
                     ("fox2012",),
                     "Fox 2012's other optimized coordinate: the DLPFC peak most anticorrelated "
                     "with the subgenual seed itself; 10 mm from the group target.",
                     status="alternate"),
    LiteratureTarget("weigand2018", "L-DLPFC Weigand 2018 (approx.)", (-42, 44, 30),
                     ("weigand2018",),
                     "Refined sgACC-anticorrelation optimum from 1000 connectomes, validated "
                     "prospectively against clinical outcome.",
                     status="secondary source, unverified"),
    LiteratureTarget("ba9", "L-DLPFC BA9 (a priori site)", (-36, 39, 43), ("fox2012", "contarg"),
                     "A priori BA9 DLPFC site compared in Fox 2012."),
    LiteratureTarget("ba46", "L-DLPFC BA46 (a priori site)", (-44, 40, 29), ("fox2012", "contarg"),
                     "A priori BA46 DLPFC site; the better of the a priori sites in Fox 2012."),
    LiteratureTarget("avg_5cm", "Average 5-cm-rule site", (-41, 16, 54), ("fox2012", "contarg"),
                     "Where the 5-cm rule lands on average (premotor/DLPFC border): a reference, "
                     "not a recommendation."),
    LiteratureTarget("avg_f3", "Average F3 (Beam) site", (-37, 26, 49), ("fox2012", "contarg"),
                     "Where the Beam/EEG F3 method lands on average."),
    LiteratureTarget("sgacc_seed", "sgACC seed (not a TMS target)", (6, 16, -10),
                     ("fox2012", "contarg"),
                     "Subgenual cingulate seed (10 mm sphere) for connectivity targeting. Not "
                     "stimulable: ~7 cm deep.", stimulable=False, status="seed"),
    LiteratureTarget("m1_hand_left", "Left M1 hand knob", (-37, -21, 58), ("mayka2006",),
                     "Left primary motor cortex hand area: motor-threshold hotspot search start."),
    LiteratureTarget("m1_hand_right", "Right M1 hand knob", (37, -21, 58), ("mayka2006",),
                     "Right primary motor cortex hand area (mirror of the left coordinate)."),
)


def get(key: str) -> LiteratureTarget:
    for entry in LIBRARY:
        if entry.key == key:
            return entry
    raise NavigationError(f"no literature target {key!r}; known: {', '.join(e.key for e in LIBRARY)}")


def stimulable() -> list[LiteratureTarget]:
    """Entries a coil can be aimed at (the sgACC seed is excluded: it is a connectivity seed)."""
    return [e for e in LIBRARY if e.stimulable]


def map_to_patient(entry: LiteratureTarget, mri_from_mni: Transform,
                   scalp_mesh: "pv.PolyData | SurfaceMesh",
                   brain_mesh: "pv.PolyData | SurfaceMesh | None" = None, *,
                   head_axes: HeadAxes | None = None, name: str | None = None) -> Target:
    """MNI coordinate -> patient ``mri`` through ``mri_from_mni`` (12-parameter affine), then
    the closest scalp point (coil entry), inward normal (coil axis) and depth.

    ``head_axes`` (from the fiducials) orients the default handle; without it the image axes
    are used. With ``brain_mesh`` the note records how far the mapped point is from the brain
    surface (a large distance means the registration is off)."""
    if not entry.stimulable:
        raise NavigationError(f"{entry.name} is a connectivity seed deep in the brain, not a "
                              "stimulation target; use it for connectivity targeting instead")
    if not isinstance(mri_from_mni, Transform) or (mri_from_mni.to_frame, mri_from_mni.from_frame) \
            != (Frame.MRI, Frame.MNI):
        got = getattr(mri_from_mni, "name", type(mri_from_mni).__name__)
        raise NavigationError(f"map_to_patient needs the mri_from_mni transform, got {got}")
    scalp = as_surface(scalp_mesh)
    cortex = mri_from_mni.apply(np.asarray(entry.mni_mm, float))
    entry_point = closest_point(scalp, cortex)
    n_out = outward_normal(scalp, entry_point)
    to_cortex = cortex - entry_point
    depth = float(np.linalg.norm(to_cortex))
    if depth < 1e-6 or float(to_cortex @ n_out) >= 0:
        raise NavigationError(f"{entry.name} maps outside the scalp: the MNI registration or the "
                              "scalp mesh is wrong (check both are in the patient's mri frame)")
    z = -n_out
    axes = head_axes or HeadAxes.ras()
    side = "midline" if abs(entry.mni_mm[0]) < 5 else ("left" if entry.mni_mm[0] < 0 else "right")
    notes = [f"MNI ({entry.mni_mm[0]:g}, {entry.mni_mm[1]:g}, {entry.mni_mm[2]:g}) mapped by affine; "
             "entry = closest scalp point (SimNIBS convention)",
             f"coil axis passes {np.linalg.norm(to_cortex - z * (to_cortex @ z)):.1f} mm from the target"]
    if brain_mesh is not None:
        off = float(np.linalg.norm(closest_point(brain_mesh, cortex) - cortex))
        notes.append(f"mapped point is {off:.1f} mm from the brain surface")
    return Target(name=name or entry.name, scalp_point_mm=entry_point, normal=z,
                  handle_direction=default_handle_direction(z, axes, side), source="literature-mni",
                  evidence=entry.evidence, cortex_point_mm=cortex, mni_point_mm=np.asarray(entry.mni_mm, dtype=float),
                  notes="; ".join(notes))
