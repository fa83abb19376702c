"""TMS coil windings (figure-of-eight or circular), their one validator, and their
magnetic-dipole approximation.

A flat circular winding of N turns is, seen from a point a few centimetres away, equivalent to a
sheet of magnetic dipoles: the moment density at radius rho is (number of turns of radius > rho)
times the area element, along the winding normal (a current loop is a uniform dipole disc).
Discretising that sheet into point dipoles follows the coil model of Thielscher & Kammer 2004
(Clin Neurophysiol 115:1697); the dipoles feed the sphere formula of Heller & van Hulsteyn 1992
(Biophys J 63:129) in ``efield.py``.

Geometry (hotspot frame, docs/design.md): origin at the stimulation point on the coil face, +z into
the head along the coil normal, +y along the handle. The two wings are centred at
x = -separation/2 and x = +separation/2, both at z = -winding_depth (the windings sit that far
above the face). The N turns of a wing have radii equally spaced from ``inner_radius_mm`` to
``outer_radius_mm``. A circular coil (e.g. MagVenture MMC-140, Magstim 90 mm) is one such wing
centred on the hotspot, with the moment of the -x wing; its field peaks under the windings, not
under the centre, and the dipole model and the sphere formula hold for it unchanged.

:func:`windings_problem` is the project's one plausibility check of a ``windings`` block (this
module's :class:`CoilWindings` and ``tmsnav.navigation.coils`` use it), with limits that admit every
real flat coil and refuse unit and typing mistakes; see there.

Current convention (tested in ``tests/navigation/targeting/test_efield.py``): for a positive
dI/dt the -x wing carries moment +z (into the head) and the +x wing moment -z, i.e. the current
in the central junction segment, where the wings meet, flows along +y (toward the handle). By
Lenz's law the induced electric field under the coil centre is antiparallel to it: along -y,
away from the handle. With the
standard M1 placement (handle pointing backwards ~45 deg off the midline) the induced current
under the coil therefore flows posterior -> anterior (PA).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.transforms import Frame, Transform

__all__ = [
    "WINDING_TYPES",
    "windings_problem",
    "read_windings",
    "read_number",
    "CoilWindings",
    "CoilDipoles",
    "GENERIC_FIG8_70",
    "DEFAULT_RINGS",
    "DEFAULT_SECTORS",
    "load_coil_windings",
    "winding_dipoles",
    "figure8_dipoles",
    "turn_radii_mm",
]

MM_TO_M = 1e-3
# Chosen from the convergence study in docs/efield.md (benchmarks/efield.py): 5 rings x 8 sectors
# per wing (80 dipoles) stays within 1.3 % (peak-normalised, worst point) of a 40 x 96-per-wing
# reference on a cortical cap 10 mm below the scalp with the windings 6 mm above it, 0.7 % at 15 mm.
DEFAULT_RINGS = 5
DEFAULT_SECTORS = 8


class CoilDefinitionError(NavigationError):
    """A coil definition file whose ``windings`` block cannot be used."""


#: Winding layouts the e-field model handles: two wings with opposite moments, or one wing.
WINDING_TYPES = ("figure8", "circular")
#: Turns per wing: real flat coils have about 5-20 (the shipped MagVenture-B65-like file 5,
#: Magstim 70 mm figure-8 9, figure-8s up to ~15, small and round coils up to ~20); 50 keeps a
#: wide margin for research coils while refusing a typing slip (90 for 9) or a wire length.
TURNS_PER_WING_RANGE = (1, 50)
#: Outer winding radius, mm: 10 mm is below the smallest animal coils' windings, 150 mm above
#: the largest round human coils (MMC-140: ~70 mm); 4.35 would be a 43.5 mm radius in cm.
OUTER_RADIUS_RANGE_MM = (10.0, 150.0)
#: Figure-8 wing-centre separation as a multiple of the outer radius: 2 when the wings touch
#: (Magstim 70 mm: 88 / 43.5 = 2.02); 1.5 (overlapping wings) to 3 (wide gap) brackets designs.
SEPARATION_RANGE_OUTER_RADII = (1.5, 3.0)
#: Height of the winding plane above the coil face, mm (casing and cooling: typically 5-10).
WINDING_DEPTH_RANGE_MM = (0.0, 30.0)
_UNITS_HINT = "check the 'units' field (mm, cm or m) and the value."


def windings_problem(kind: str, turns_per_wing: float, inner_radius_mm: float,
                     outer_radius_mm: float, wing_centre_separation_mm: float,
                     winding_depth_mm: float) -> str | None:
    """What is wrong with a winding geometry (mm), as a sentence for the user; None if it is
    plausible. The one check for ``windings`` blocks (limits and why: the module constants)."""
    if kind not in WINDING_TYPES:
        return f"windings type {kind!r} is not one of {WINDING_TYPES}"
    numbers = (turns_per_wing, inner_radius_mm, outer_radius_mm, wing_centre_separation_mm,
               winding_depth_mm)
    if not all(isinstance(v, (int, float, np.number)) and np.isfinite(v) for v in numbers):
        return f"turns and lengths must be finite numbers, got {numbers}"
    lo_turns, hi_turns = TURNS_PER_WING_RANGE
    if turns_per_wing != int(turns_per_wing) or not lo_turns <= turns_per_wing <= hi_turns:
        return (f"turns_per_wing must be a whole number {lo_turns}–{hi_turns}, "
                f"got {turns_per_wing:g}")
    lo, hi = OUTER_RADIUS_RANGE_MM
    if not lo <= outer_radius_mm <= hi:
        return (f"outer radius = {outer_radius_mm:g} mm is outside the plausible {lo:g}–{hi:g} "
                f"mm; {_UNITS_HINT}")
    if not 0.0 <= inner_radius_mm < outer_radius_mm:
        return (f"inner radius {inner_radius_mm:g} mm must be below the outer radius "
                f"{outer_radius_mm:g} mm (and not negative)")
    if kind == "figure8":
        lo, hi = (f * outer_radius_mm for f in SEPARATION_RANGE_OUTER_RADII)
        if not lo <= wing_centre_separation_mm <= hi:
            return (f"wing centre separation = {wing_centre_separation_mm:g} mm is outside the "
                    f"plausible {lo:g}–{hi:g} mm (1.5 to 3 outer radii); {_UNITS_HINT}")
    elif wing_centre_separation_mm != 0.0:
        return "a circular coil has wing_centre_separation_mm 0"
    lo, hi = WINDING_DEPTH_RANGE_MM
    if not lo <= winding_depth_mm <= hi:
        return (f"winding depth = {winding_depth_mm:g} mm is outside the plausible {lo:g}–{hi:g} "
                f"mm; {_UNITS_HINT}")
    return None


def read_number(block: Mapping[str, Any], key: str, where: str, scale: float = 1.0,
                error: type[NavigationError] = CoilDefinitionError) -> float:
    """``block[key]`` as a finite number times ``scale`` (a file's unit to mm), or ``error`` naming
    ``where`` and the key. Shared with ``tmsnav.navigation.coils``, which passes its own error."""
    if key not in block:
        raise error(f"{where}: missing '{key}'")
    try:
        value = float(block[key])
    except (TypeError, ValueError):
        raise error(f"{where}: '{key}' must be a number, got {block[key]!r}") from None
    if not np.isfinite(value):
        raise error(f"{where}: '{key}' must be finite, got {value}")
    return value * scale


def read_windings(block: object, where: str = "coil windings", scale_to_mm: float = 1.0,
                  error: type[NavigationError] = CoilDefinitionError) -> dict[str, Any]:
    """A ``windings`` block read (lengths times ``scale_to_mm``) and judged by
    :func:`windings_problem`: the keyword arguments of :class:`CoilWindings` (and of
    ``tmsnav.navigation.coils.Windings``) but ``name``. The one reader of the block, so the coil
    list and the e-field accept the same coils and refuse the others with the same words."""
    if not isinstance(block, Mapping):
        raise error(f"{where}: 'windings' must be an object")
    kind = str(block.get("type", ""))
    turns = read_number(block, "turns_per_wing", where, error=error)
    inner = read_number(block, "inner_radius_mm", where, scale_to_mm, error)
    outer = read_number(block, "outer_radius_mm", where, scale_to_mm, error)
    separation = read_number(block, "wing_centre_separation_mm", where, scale_to_mm, error) if (
        kind == "figure8" or "wing_centre_separation_mm" in block) else 0.0
    depth = read_number(block, "winding_depth_mm", where, scale_to_mm, error)
    problem = windings_problem(kind, turns, inner, outer, separation, depth)   # before int(turns)
    if problem:
        raise error(f"{where}: {problem}")
    return {"type": kind, "turns_per_wing": int(turns), "inner_radius_mm": inner, "outer_radius_mm": outer,
            "wing_centre_separation_mm": separation, "winding_depth_mm": depth}


@dataclass(frozen=True)
class CoilWindings:
    """Winding geometry in millimetres (the ``windings`` block of a coil file); checked by
    :func:`windings_problem` when made. ``type`` is "figure8" or "circular" (one wing)."""

    turns_per_wing: int
    inner_radius_mm: float
    outer_radius_mm: float
    wing_centre_separation_mm: float
    winding_depth_mm: float
    name: str = "figure-8"
    type: str = "figure8"

    def __post_init__(self) -> None:
        problem = windings_problem(self.type, self.turns_per_wing, self.inner_radius_mm,
                                   self.outer_radius_mm, self.wing_centre_separation_mm,
                                   self.winding_depth_mm)
        if problem:
            raise CoilDefinitionError(f"coil windings: {problem}")

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> "CoilWindings":
        """Read the ``windings`` block of a parsed coil definition (format_version 1, mm)."""
        version = definition.get("format_version")
        if version != 1:
            raise CoilDefinitionError(f"coil definition: unsupported format_version {version!r} (expected 1)")
        units = definition.get("units", "mm")
        if units != "mm":
            raise CoilDefinitionError(f"coil definition: units must be 'mm', got {units!r}")
        block = definition.get("windings")
        if not isinstance(block, Mapping):
            raise CoilDefinitionError("coil definition has no 'windings' block; the e-field needs it")
        values = read_windings(block)
        kind = values["type"]
        return cls(**values, name=str(definition.get("model_id") or definition.get("name")
                                      or ("figure-8" if kind == "figure8" else kind)))


def load_coil_windings(path: str | Path) -> CoilWindings:
    """Parse a coil definition JSON file and return its winding geometry."""
    path = Path(path)
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CoilDefinitionError(f"cannot read coil definition {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CoilDefinitionError(f"coil definition {path.name} is not valid JSON: {exc}") from None
    if not isinstance(definition, dict):
        raise CoilDefinitionError(f"coil definition {path.name} must be a JSON object")
    return CoilWindings.from_definition(definition)


# Magstim-70-like figure-8 as in the coil file example: 9 turns, 56/87 mm inner/outer diameter.
GENERIC_FIG8_70 = CoilWindings(turns_per_wing=9, inner_radius_mm=28.0, outer_radius_mm=43.5,
                               wing_centre_separation_mm=88.0, winding_depth_mm=6.0,
                               name="generic-fig8-70")


@dataclass(frozen=True)
class CoilDipoles:
    """Point dipoles approximating the coil, in one frame.

    ``moments_A_m2_per_A`` is SI (A m^2 per ampere of coil current) while positions are mm.
    """

    frame: Frame
    positions_mm: np.ndarray = field(repr=False)
    moments_A_m2_per_A: np.ndarray = field(repr=False)

    @property
    def count(self) -> int:
        return int(self.positions_mm.shape[0])

    def transformed(self, to_from_frame: Transform) -> "CoilDipoles":
        """The same dipoles expressed in ``to_from_frame.to_frame`` (must be rigid)."""
        if to_from_frame.from_frame != self.frame:
            raise NavigationError(
                f"dipoles are in the {self.frame} frame but the transform is {to_from_frame.name}")
        if not to_from_frame.is_rigid:
            raise NavigationError(f"{to_from_frame.name} must be rigid to move the coil")
        return CoilDipoles(to_from_frame.to_frame, to_from_frame.apply(self.positions_mm),
                           to_from_frame.apply_direction(self.moments_A_m2_per_A))


def turn_radii_mm(windings: CoilWindings) -> np.ndarray:
    """Radii of the turns of one wing: equally spaced from inner to outer radius."""
    if windings.turns_per_wing == 1:
        return np.array([0.5 * (windings.inner_radius_mm + windings.outer_radius_mm)])
    return np.linspace(windings.inner_radius_mm, windings.outer_radius_mm, windings.turns_per_wing)


def _cumulative_area_turns(radii: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Turn-weighted area inside radius rho: sum_k pi min(rho, r_k)^2 (mm^2 x turns)."""
    return np.pi * (np.minimum(rho[..., None], radii) ** 2).sum(axis=-1)


def _cumulative_second(radii: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """sum_k integral_0^min(rho, r_k) 2 pi s^2 ds: numerator of the moment-weighted mean radius."""
    return (2.0 * np.pi / 3.0) * (np.minimum(rho[..., None], radii) ** 3).sum(axis=-1)


def _ring_edges_equal_moment(radii: np.ndarray, n_rings: int) -> np.ndarray:
    """Ring boundaries (mm) that split a wing's total moment into equal parts (bisection)."""
    total = _cumulative_area_turns(radii, np.array([radii.max()]))[0]
    wanted = total * np.arange(1, n_rings) / n_rings
    lo = np.zeros_like(wanted)
    hi = np.full_like(wanted, radii.max())
    for _ in range(60):  # 2^-60 of 150 mm: far below any relevance
        mid = 0.5 * (lo + hi)
        below = _cumulative_area_turns(radii, mid) < wanted
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.concatenate([[0.0], 0.5 * (lo + hi), [radii.max()]])


def winding_dipoles(windings: CoilWindings, n_rings: int = DEFAULT_RINGS,
                    n_sectors: int = DEFAULT_SECTORS) -> CoilDipoles:
    """Dipoles of a figure-8 (two wings) or circular (one wing at the centre) coil in the
    hotspot frame.

    Each wing's disc (radius = outer radius) is cut into ``n_rings`` rings holding equal moment
    and each ring into ``n_sectors`` sectors (odd rings rotated by half a sector). A cell's moment
    is the exact integral of (turns enclosing) x area over the cell; its dipole sits at the
    ring's moment-weighted mean radius, mid-sector (with one sector: at the wing centre).
    Total moment per wing = sum_k pi r_k^2 (A m^2 per A).
    """
    if not (1 <= int(n_rings) <= 200 and 1 <= int(n_sectors) <= 720):
        raise NavigationError(f"dipole resolution must be 1..200 rings and 1..720 sectors, "
                              f"got {n_rings} x {n_sectors}")
    n_rings, n_sectors = int(n_rings), int(n_sectors)
    radii = turn_radii_mm(windings)
    edges = _ring_edges_equal_moment(radii, n_rings)
    area = np.diff(_cumulative_area_turns(radii, edges))                  # mm^2 x turns per ring
    second = np.diff(_cumulative_second(radii, edges))
    # Dipoles sit ON the ring (moment-weighted mean radius), equally spaced: the periodic trapezoid
    # rule, far more accurate around the ring than cell centroids (measured). One sector: centre.
    ring_radius = second / area if n_sectors > 1 else np.zeros(n_rings)
    ring = np.repeat(np.arange(n_rings), n_sectors)
    sector = np.tile(np.arange(n_sectors), n_rings)
    angle = 2.0 * np.pi * (sector + 0.5 + 0.5 * (ring % 2)) / n_sectors
    local_xy = np.stack([ring_radius[ring] * np.cos(angle), ring_radius[ring] * np.sin(angle)], axis=1)
    cell_moment_m2 = area[ring] / n_sectors * MM_TO_M ** 2

    half = 0.5 * windings.wing_centre_separation_mm
    z = -windings.winding_depth_mm
    positions, moments = [], []
    # -x wing: moment +z; +x wing: -z. A circular coil is one wing at x = 0, moment +z.
    wings = ((-half, +1.0), (+half, -1.0)) if windings.type == "figure8" else ((0.0, +1.0),)
    for wing_x, sign in wings:
        pos = np.column_stack([local_xy[:, 0] + wing_x, local_xy[:, 1], np.full(len(ring), z)])
        mom = np.zeros_like(pos)
        mom[:, 2] = sign * cell_moment_m2
        positions.append(pos)
        moments.append(mom)
    return CoilDipoles(Frame.HOTSPOT, np.vstack(positions), np.vstack(moments))


#: The name the e-field and orientation modules import; it handles circular coils too.
figure8_dipoles = winding_dipoles
