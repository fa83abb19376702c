"""Targets as first-class objects: a named, planned coil pose in ``mri`` with its provenance.

A :class:`Target` is what the planning panel lists and the guidance view aims at. Its pose is the
``target`` frame of docs/design.md: origin at the coil entry point on the scalp, +z along ``normal``
(into the head, the coil's +z), +y along ``handle_direction`` (the coil's +y), x = y x z.
Every target carries where it came from (``source``) and why (``evidence``), because a clinic
must be able to say which rule or paper put the coil there.

Default handle direction (:func:`default_handle_direction`): in the scalp tangent plane,
pointing *posterior and lateral at 45 degrees to the midline*. That orientation induces a
posterior-to-anterior current across the central sulcus with a figure-8 coil, the most
effective direction for the motor hotspot (Brasil-Neto et al. 1992, J Clin Neurophysiol 9:132;
IFCN guideline, Rossini et al. 2015, Clin Neurophysiol 126:1071); DLPFC protocols usually keep
the same orientation. SimNIBS' examples likewise set ``pos_ydir`` posterior of the centre
(C3 -> CP3). Midline targets get a purely posterior handle. The user can always override it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import (HeadAxes, SurfaceMesh, as_surface, closest_point,
                                                        ray_hit, surface_path, unit)
from tmsnav.navigation.transforms import Frame, Transform

__all__ = ["Evidence", "Target", "TargetSet", "default_handle_direction", "target_from_scalp",
           "cortex_below", "KNOWN_SOURCES"]

KNOWN_SOURCES = ("literature-mni", "10-20", "beam-f3", "5-cm-rule", "manual", "connectivity",
                 "qeeg", "efield", "motor-grid", "motor-hotspot")
UNIT_TOL = 1e-6
MAX_CORTEX_DEPTH_MM = 60.0  # scalp-to-cortex is ~10-30 mm; farther means the ray missed the brain


@dataclass(frozen=True)
class Evidence:
    citation: str
    why: str
    doi: str | None = None

    def to_dict(self) -> dict:
        return {"citation": self.citation, "why": self.why, "doi": self.doi}

    @classmethod
    def from_dict(cls, d: dict) -> "Evidence":
        return cls(str(d.get("citation", "")), str(d.get("why", "")), d.get("doi"))


def _vec(value: Any, what: str) -> np.ndarray:
    try:
        v = np.array(value, dtype=float).reshape(3)
    except (TypeError, ValueError):
        raise NavigationError(f"{what} must be three numbers (mm), got {value!r}") from None
    if not np.all(np.isfinite(v)):
        raise NavigationError(f"{what} contains NaN or infinite values: {v}")
    v.setflags(write=False)
    return v


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, eq=False)
class Target:
    """A planned coil pose in ``mri`` (mm). Immutable; edit with :meth:`with_changes`."""

    name: str
    scalp_point_mm: np.ndarray
    normal: np.ndarray
    handle_direction: np.ndarray
    source: str
    evidence: Evidence
    cortex_point_mm: np.ndarray | None = None
    mni_point_mm: np.ndarray | None = None
    created: str = field(default_factory=_now)
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise NavigationError("a target needs a non-empty name")
        object.__setattr__(self, "name", self.name.strip())
        if not isinstance(self.source, str) or not self.source.strip():
            raise NavigationError(f"target {self.name!r}: source (method) must be given")
        if not isinstance(self.evidence, Evidence):
            raise NavigationError(f"target {self.name!r}: evidence must be an Evidence record")
        for attr in ("scalp_point_mm", "normal", "handle_direction"):
            object.__setattr__(self, attr, _vec(getattr(self, attr), f"target {self.name!r} {attr}"))
        for attr in ("cortex_point_mm", "mni_point_mm"):
            if getattr(self, attr) is not None:
                object.__setattr__(self, attr, _vec(getattr(self, attr), f"target {self.name!r} {attr}"))
        for attr in ("normal", "handle_direction"):
            n = float(np.linalg.norm(getattr(self, attr)))
            if abs(n - 1.0) > UNIT_TOL:
                raise NavigationError(f"target {self.name!r}: {attr} must be a unit vector (norm {n:.6f})")
        dot = float(self.normal @ self.handle_direction)
        if abs(dot) > UNIT_TOL:
            raise NavigationError(f"target {self.name!r}: handle direction must be perpendicular to "
                                  "the coil normal (they are "
                                  f"{math.degrees(math.acos(np.clip(dot, -1, 1))):.2f} deg apart)")

    # ----- geometry --------------------------------------------------------------------------
    @property
    def mri_from_target(self) -> Transform:
        """``mri <- target``: origin on the scalp, z = normal (into the head), y = handle, x = y x z."""
        z, y = self.normal, self.handle_direction
        x = np.cross(y, z)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, self.scalp_point_mm
        return Transform(Frame.MRI, Frame.TARGET, m)

    @property
    def depth_mm(self) -> float | None:
        """Scalp-to-cortex distance (mm), None without a cortex point."""
        if self.cortex_point_mm is None:
            return None
        return float(np.linalg.norm(self.cortex_point_mm - self.scalp_point_mm))

    def with_changes(self, **changes: Any) -> "Target":
        return replace(self, **changes)

    # ----- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        def lst(v: np.ndarray | None) -> list[float] | None:
            return None if v is None else [float(x) for x in v]
        return {"name": self.name, "scalp_point_mm": lst(self.scalp_point_mm),
                "normal": lst(self.normal), "handle_direction": lst(self.handle_direction),
                "source": self.source, "evidence": self.evidence.to_dict(),
                "cortex_point_mm": lst(self.cortex_point_mm), "mni_point_mm": lst(self.mni_point_mm),
                "created": self.created, "notes": self.notes}

    @classmethod
    def from_dict(cls, d: dict) -> "Target":
        try:
            return cls(name=d["name"], scalp_point_mm=d["scalp_point_mm"], normal=d["normal"],
                       handle_direction=d["handle_direction"], source=d["source"],
                       evidence=Evidence.from_dict(d.get("evidence") or {}),
                       cortex_point_mm=d.get("cortex_point_mm"), mni_point_mm=d.get("mni_point_mm"),
                       created=d.get("created") or _now(), notes=d.get("notes", ""))
        except KeyError as exc:
            raise NavigationError(f"saved target is missing the field {exc.args[0]!r}") from None


def default_handle_direction(normal: np.ndarray, head_axes: HeadAxes, side: str) -> np.ndarray:
    """Unit handle direction in the tangent plane: posterior, 45 deg lateral for ``side``
    ("left"/"right"), straight posterior for "midline" (see the module docstring for sources)."""
    z = unit(normal, "coil normal")
    posterior = -head_axes.anterior - z * float(-head_axes.anterior @ z)
    if np.linalg.norm(posterior) < 0.25:
        # forehead or occiput: "backwards along the scalp" is over the top (front) or down (back)
        up = head_axes.superior if float(z @ head_axes.anterior) < 0 else -head_axes.superior
        posterior = up - z * float(up @ z)
    posterior = unit(posterior, "posterior direction")
    if side == "midline":
        return posterior
    if side not in ("left", "right"):
        raise NavigationError(f"side must be 'left', 'right' or 'midline', got {side!r}")
    lateral = head_axes.right if side == "right" else -head_axes.right
    lateral = lateral - z * float(lateral @ z) - posterior * float(lateral @ posterior)
    lateral = unit(lateral, "lateral direction")
    h = unit(posterior + lateral, "handle direction")
    return unit(h - z * float(h @ z))


def cortex_below(brain_mesh: "pv.PolyData | SurfaceMesh", scalp_point: np.ndarray,
                 inward_normal: np.ndarray) -> tuple[np.ndarray, str]:
    """Cortical point under the coil: first hit of the coil axis (scalp point along the inward
    normal) on the brain surface, i.e. where a figure-8 coil's field peaks. When the axis misses
    (a partial cortex mesh), fall back to the closest brain point and say so in the returned note."""
    hit = ray_hit(brain_mesh, scalp_point, inward_normal, MAX_CORTEX_DEPTH_MM)
    if hit is not None:
        return hit, "cortex point: coil axis meets the brain surface"
    closest = closest_point(brain_mesh, scalp_point)
    if np.linalg.norm(closest - scalp_point) > MAX_CORTEX_DEPTH_MM:
        raise NavigationError("the brain surface is more than 60 mm from the scalp point: "
                              "check that the brain and scalp meshes are in the same frame")
    return closest, "cortex point: coil axis misses the brain mesh; closest brain point used"


def target_from_scalp(name: str, scalp_point: np.ndarray, outward_normal: np.ndarray, *,
                      source: str, evidence: Evidence, head_axes: HeadAxes, side: str | None = None,
                      brain_mesh: "pv.PolyData | SurfaceMesh | None" = None,
                      notes: str = "") -> Target:
    """Build a Target from a scalp point and its outward normal (the heuristics' common tail)."""
    scalp = _vec(scalp_point, f"{name} scalp point")
    z = -unit(outward_normal, "scalp normal")
    side = side or head_axes.side_of(scalp)
    cortex = None
    extra = []
    if brain_mesh is not None:
        cortex, how = cortex_below(as_surface(brain_mesh), scalp, z)
        extra.append(how)
    all_notes = "; ".join([n for n in [notes, *extra] if n])
    return Target(name=name, scalp_point_mm=scalp, normal=z,
                  handle_direction=default_handle_direction(z, head_axes, side),
                  source=source, evidence=evidence, cortex_point_mm=cortex, notes=all_notes)


class TargetSet:
    """The patient's targets, with one active target (the one guidance aims at)."""

    SCHEMA = 1

    def __init__(self, targets: list[Target] | None = None, active: str | None = None) -> None:
        self._targets: dict[str, Target] = {}
        self._active: str | None = None
        for t in targets or []:
            self.add(t)
        if active is not None:
            self.select(active)

    def __len__(self) -> int:
        return len(self._targets)

    def __iter__(self):
        return iter(list(self._targets.values()))

    def __contains__(self, name: str) -> bool:
        return name in self._targets

    def __getitem__(self, name: str) -> Target:
        try:
            return self._targets[name]
        except KeyError:
            raise NavigationError(f"no target named {name!r}") from None

    @property
    def names(self) -> list[str]:
        return list(self._targets)

    @property
    def active(self) -> Target | None:
        return None if self._active is None else self._targets[self._active]

    def add(self, target: Target) -> None:
        if not isinstance(target, Target):
            raise NavigationError("only Target objects can be added to a target set")
        if target.name in self._targets:
            raise NavigationError(f"a target named {target.name!r} already exists; rename one of them")
        self._targets[target.name] = target
        if self._active is None:
            self._active = target.name

    def replace(self, target: Target) -> None:
        """Update an existing target (same name) in place, e.g. after the user edits its pose."""
        self[target.name]
        self._targets[target.name] = target

    def remove(self, name: str) -> Target:
        target = self[name]
        del self._targets[name]
        if self._active == name:
            self._active = next(iter(self._targets), None)
        return target

    def rename(self, old: str, new: str) -> None:
        target = self[old]
        new = new.strip() if isinstance(new, str) else new
        if not new:
            raise NavigationError("a target needs a non-empty name")
        if new != old and new in self._targets:
            raise NavigationError(f"a target named {new!r} already exists")
        items = [(new if k == old else k, target.with_changes(name=new) if k == old else v)
                 for k, v in self._targets.items()]
        self._targets = dict(items)
        if self._active == old:
            self._active = new

    def select(self, name: str) -> Target:
        target = self[name]
        self._active = name
        return target

    def distance_mm(self, a: str, b: str, kind: str = "scalp") -> float | None:
        """Straight-line distance between two targets' scalp (coil) or cortex points."""
        ta, tb = self[a], self[b]
        if kind == "scalp":
            return float(np.linalg.norm(ta.scalp_point_mm - tb.scalp_point_mm))
        if kind == "cortex":
            if ta.cortex_point_mm is None or tb.cortex_point_mm is None:
                return None
            return float(np.linalg.norm(ta.cortex_point_mm - tb.cortex_point_mm))
        raise NavigationError(f"distance kind must be 'scalp' or 'cortex', got {kind!r}")

    def distance_table(self, scalp_mesh: "pv.PolyData | SurfaceMesh | None" = None) -> list[dict]:
        """Every pair once: {"a", "b", "scalp_mm", "cortex_mm"} (straight lines; cortex None if
        either target lacks a cortex point), plus "scalp_arc_mm" along the scalp (the distance a
        tape measures) when ``scalp_mesh`` is given."""
        surf = None if scalp_mesh is None else as_surface(scalp_mesh)
        names = self.names
        rows = []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                row = {"a": a, "b": b, "scalp_mm": self.distance_mm(a, b, "scalp"),
                       "cortex_mm": self.distance_mm(a, b, "cortex")}
                if surf is not None:
                    pa, pb = self[a].scalp_point_mm, self[b].scalp_point_mm
                    row["scalp_arc_mm"] = surface_path(surf, closest_point(surf, pa),
                                                       closest_point(surf, pb)).length_mm
                rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"schema": self.SCHEMA, "active": self._active,
                "targets": [t.to_dict() for t in self._targets.values()]}

    @classmethod
    def from_dict(cls, d: dict) -> "TargetSet":
        if d.get("schema") != cls.SCHEMA:
            raise NavigationError(f"unsupported target list version {d.get('schema')!r} "
                                  f"(this tmsnav reads version {cls.SCHEMA})")
        return cls([Target.from_dict(t) for t in d.get("targets", [])], d.get("active"))
