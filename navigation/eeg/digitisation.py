"""Digitising an EEG cap with the tracked pointer: the order, the checks, the redo, the gaps.

The technician touches each electrode of the cap in a fixed order. Each touch is a pointer-tip
position in the head reference's frame; the head registration (``mri_from_reference``) maps it
into the MRI, and the electrode's position is the scalp point under the touch (the electrode sits
on the cap a few millimetres above the skin; what maps and targets use is the skin under it).

Every touch is judged before it is stored, because the usual mistakes give plausible-looking
coordinates (Koessler et al. 2007, Brain Topogr 20:91, and Clausner et al. 2017, Front Neurosci
11:264, report mislabelled and skipped electrodes as the main digitisation errors):

* **no registration yet** -> refused: the point cannot be placed in the MRI;
* **off the scalp** (more than ``OFF_SCALP_MM`` from the MRI scalp) -> refused: the tip was lifted,
  or the registration is wrong;
* **the tip is still on an electrode captured before** (within ``DUPLICATE_MM`` of it) ->
  refused, naming it;
* **far from where the asked electrode should be** -> refused. "Where it should be" is the
  template position on this head (:mod:`.electrodes`), moved with the cap once three electrodes
  are touched: a least-squares similarity (rotation, translation, one scale; Umeyama 1991, IEEE
  PAMI 13:376) from their template positions to their touched ones absorbs a cap pulled forward
  or turned. The limit is half the distance to the nearest other electrode of the set (10-30 mm),
  so a touch on a neighbour is never taken. When the touch is where a *later* electrode should be,
  the message says the asked one was probably skipped; an earlier one not yet touched: swapped.

Missing electrodes (not reachable, or not worth the time) are **interpolated**: the same
similarity fit of the template to all touched electrodes is applied to their template positions
and the result projected to the scalp; they are marked "interpolated" everywhere (list, BIDS file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyvista as pv

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh, as_surface
from tmsnav.navigation.transforms import Frame, Transform

from .electrodes import project_to_scalp

__all__ = ["DigitisationError", "ElectrodeStatus", "CaptureOutcome", "ElectrodeDigitisation",
           "similarity_fit", "OFF_SCALP_MM", "DUPLICATE_MM", "MIN_LIMIT_MM", "MAX_LIMIT_MM",
           "PENDING", "CAPTURED", "INTERPOLATED", "REFUSED"]

OFF_SCALP_MM = 15.0       # electrode housing + cap + gel: a touch on an electrode is < ~10 mm up
DUPLICATE_MM = 10.0       # 10-10 neighbours are ~30-40 mm apart on an adult head
MIN_LIMIT_MM = 10.0
MAX_LIMIT_MM = 30.0
MIN_FOR_INTERPOLATION = 4
PENDING, CAPTURED, INTERPOLATED, REFUSED = "to touch", "captured", "interpolated", "refused"


class DigitisationError(NavigationError):
    """The digitisation cannot do what was asked (unknown electrode, too few touches)."""


def similarity_fit(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, rotation, translation) minimising sum |s R x + t - y|^2 (Umeyama 1991), proper
    rotation only. Needs 3 or more non-collinear points."""
    x = np.asarray(source, float)
    y = np.asarray(target, float)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    var = float(np.sum(xc ** 2)) / len(x)
    if len(x) < 3 or var < 1e-9:
        raise DigitisationError("at least three electrodes spread over the head are needed")
    u, d, vt = np.linalg.svd(yc.T @ xc / len(x))
    sign = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)])
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign)) / var
    return scale, rot, my - scale * rot @ mx


@dataclass
class ElectrodeStatus:
    """One row of the list: what is known about one electrode."""

    name: str
    status: str = PENDING                 # PENDING | CAPTURED | INTERPOLATED | REFUSED
    position_mm: np.ndarray | None = None  # mri mm, on the scalp
    touched_mm: np.ndarray | None = None   # mri mm, the tip itself (captured only)
    touched_reference_mm: np.ndarray | None = None   # the tip in the head reference's frame
    reason: str = ""                      # why refused, or how interpolated


@dataclass(frozen=True)
class CaptureOutcome:
    ok: bool
    name: str
    message: str
    cause: str = ""                       # "", no_registration, off_scalp, duplicate, skipped, swapped, far
    position_mm: np.ndarray | None = None


class ElectrodeDigitisation:
    """The state of one cap digitisation (pure logic; the GUI box drives it)."""

    def __init__(self, order: Sequence[str], expected_mm: Mapping[str, object],
                 scalp: "pv.PolyData | SurfaceMesh") -> None:
        missing = [n for n in order if n not in expected_mm]
        if missing:
            raise DigitisationError("no expected position for " + ", ".join(missing))
        if len(set(order)) != len(order):
            raise DigitisationError("an electrode is listed twice in the digitising order")
        if not order:
            raise DigitisationError("no electrodes to digitise")
        self.order = list(order)
        self.expected = {n: np.asarray(expected_mm[n], float).reshape(3) for n in self.order}
        self.surface = as_surface(scalp)
        self.rows = {n: ElectrodeStatus(n) for n in self.order}
        self.current: str | None = self.order[0]
        pts = np.array([self.expected[n] for n in self.order])
        self._limit = {}
        for i, name in enumerate(self.order):
            d = np.linalg.norm(pts - pts[i], axis=1)
            d[i] = np.inf
            nearest = float(d.min()) if len(d) > 1 else 2 * MAX_LIMIT_MM
            self._limit[name] = float(np.clip(0.5 * nearest, MIN_LIMIT_MM, MAX_LIMIT_MM))

    # ----- state ----------------------------------------------------------------------------
    def captured(self) -> list[str]:
        return [n for n in self.order if self.rows[n].status == CAPTURED]

    def next_pending(self, after: str | None = None) -> str | None:
        """The next electrode (in order, after ``after``) neither captured nor interpolated."""
        start = self.order.index(after) + 1 if after in self.order else 0
        for name in self.order[start:] + self.order[:start]:
            if self.rows[name].status in (PENDING, REFUSED):
                return name
        return None

    def select(self, name: str) -> None:
        """Ask for ``name`` next (to redo it, or to take them out of order on purpose)."""
        if name not in self.rows:
            raise DigitisationError(f"{name} is not in this electrode set")
        self.current = name

    def limit_mm(self, name: str) -> float:
        return self._limit[name]

    def predicted(self, name: str) -> np.ndarray:
        """Where ``name`` should be given the touches so far (mri mm)."""
        done = [n for n in self.captured() if n != name]
        exp = self.expected[name]
        if len(done) >= 3:
            try:
                s, r, t = similarity_fit(np.array([self.expected[n] for n in done]),
                                         np.array([self.rows[n].position_mm for n in done]))
                if 0.8 <= s <= 1.25:           # a cap does not shrink or grow by 20 %
                    return s * r @ exp + t
            except DigitisationError:
                pass                            # collinear so far: translation only
        if done:
            shift = np.mean([self.rows[n].position_mm - self.expected[n] for n in done], axis=0)
            return exp + shift
        return exp.copy()

    def positions_mm(self, include_interpolated: bool = True) -> dict[str, np.ndarray]:
        keep = (CAPTURED, INTERPOLATED) if include_interpolated else (CAPTURED,)
        return {n: r.position_mm.copy() for n, r in self.rows.items()
                if r.status in keep and r.position_mm is not None}

    def placement(self) -> dict[str, str]:
        """name -> "digitised" | "interpolated" (the BIDS ``placement`` column)."""
        word = {CAPTURED: "digitised", INTERPOLATED: "interpolated"}
        return {n: word[r.status] for n, r in self.rows.items() if r.status in word}

    # ----- actions --------------------------------------------------------------------------
    def capture(self, tip_reference_mm: object, mri_from_reference: Transform | None,
                name: str | None = None) -> CaptureOutcome:
        """Judge and store a touch of ``name`` (default: the current electrode)."""
        name = name or self.current
        if name is None:
            return CaptureOutcome(False, "", "Every electrode is captured or interpolated; "
                                  "select one to redo it.", "done")
        if mri_from_reference is None:
            return self._refuse(name, "no_registration", "Capture refused: no head registration "
                                "yet. Register the head (Registration tab) first; without it the "
                                "touch cannot be placed in the MRI.")
        if not isinstance(mri_from_reference, Transform) or \
                (mri_from_reference.to_frame, mri_from_reference.from_frame) != (Frame.MRI, Frame.REFERENCE):
            raise DigitisationError("the head registration must be an mri_from_reference transform")
        tip_ref = np.asarray(tip_reference_mm, float).reshape(3)
        outcome = self.capture_mri(mri_from_reference.apply(tip_ref), name)
        if outcome.ok:
            self.rows[outcome.name].touched_reference_mm = tip_ref.copy()
        return outcome

    def remap(self, mri_from_reference: Transform) -> list[str]:
        """A new head registration: the touched electrodes (held in the head reference's frame,
        which moves with the head) go through it again and onto the scalp. Returns the names
        moved. Right when the registration was corrected with the reference marker left in
        place; if the marker moved on the head, the old touches are void (digitise again)."""
        if not isinstance(mri_from_reference, Transform) or \
                (mri_from_reference.to_frame, mri_from_reference.from_frame) != (Frame.MRI, Frame.REFERENCE):
            raise DigitisationError("the head registration must be an mri_from_reference transform")
        names = [n for n in self.captured() if self.rows[n].touched_reference_mm is not None]
        if not names:
            return []
        tips = mri_from_reference.apply(np.array([self.rows[n].touched_reference_mm for n in names]))
        for name, tip, p in zip(names, tips, project_to_scalp(self.surface, tips)):
            row = self.rows[name]
            row.touched_mm, row.position_mm = tip, p
            row.reason = "re-mapped through the new registration"
        return names

    def capture_mri(self, tip_mri_mm: object, name: str | None = None) -> CaptureOutcome:
        """Judge and store a touch already in mri mm (the registration applied)."""
        name = name or self.current
        if name is None or name not in self.rows:
            raise DigitisationError(f"{name!r} is not in this electrode set")
        tip = np.asarray(tip_mri_mm, float).reshape(3)
        on_scalp = project_to_scalp(self.surface, tip[None])[0]
        off = float(np.linalg.norm(tip - on_scalp))
        if off > OFF_SCALP_MM:
            return self._refuse(name, "off_scalp", f"Capture refused: the tip is {off:.0f} mm from "
                                "the scalp. Touch the electrode on the cap; if the tip is on it, "
                                "the head registration is wrong (or the head reference moved).")
        for other in self.captured():
            if other == name:
                continue
            d = float(np.linalg.norm(on_scalp - self.rows[other].position_mm))
            if d < DUPLICATE_MM:
                return self._refuse(name, "duplicate", f"Capture refused: the tip is {d:.0f} mm from "
                                    f"{other}, captured before. Likely cause: the tip is still on "
                                    f"{other}; move it to {name}.")
        expect = self.predicted(name)
        dist = float(np.linalg.norm(on_scalp - expect))
        limit = self._limit[name]
        if dist > limit:
            return self._refuse(name, *self._why_far(name, on_scalp, dist, limit))
        row = self.rows[name]
        row.status, row.position_mm, row.touched_mm = CAPTURED, on_scalp, tip
        row.reason = f"{dist:.0f} mm from the expected position"
        self.current = self.next_pending(after=name)
        return CaptureOutcome(True, name, f"{name} captured ({dist:.0f} mm from where the template "
                              "put it).", "", on_scalp.copy())

    def _why_far(self, name: str, point: np.ndarray, dist: float, limit: float) -> tuple[str, str]:
        others = [n for n in self.order if n != name and self.rows[n].status != CAPTURED]
        best, best_d = None, np.inf
        for other in others:
            d = float(np.linalg.norm(point - self.predicted(other)))
            if d < best_d:
                best, best_d = other, d
        head = f"Capture refused: {dist:.0f} mm from where {name} should be (limit {limit:.0f} mm)."
        if best is not None and best_d <= self._limit[best]:
            if self.order.index(best) > self.order.index(name):
                return "skipped", (f"{head} Likely cause: {name} was skipped: the tip is on {best} "
                                   f"({best_d:.0f} mm from where it should be). Touch {name} first, "
                                   f"or select {best} in the list.")
            return "swapped", (f"{head} Likely cause: the tip is on {best} ({best_d:.0f} mm from "
                               f"where it should be), not on {name}: electrodes swapped?")
        return "far", (f"{head} Likely cause: not on {name}: check the electrode label, or the cap "
                       "has slipped / the registration is off.")

    def _refuse(self, name: str, cause: str, message: str) -> CaptureOutcome:
        row = self.rows[name]
        if row.status != CAPTURED:                 # a refused redo keeps the good capture
            row.status, row.reason = REFUSED, message.replace("Capture refused: ", "")
        return CaptureOutcome(False, name, message, cause)

    def redo(self, name: str) -> None:
        """Forget ``name``'s capture (or interpolation) and ask for it next."""
        if name not in self.rows:
            raise DigitisationError(f"{name} is not in this electrode set")
        self.rows[name] = ElectrodeStatus(name)
        self.current = name

    def restore(self, name: str, position_mm: object, interpolated: bool = False,
                reason: str = "read from a file") -> None:
        """Put back a position saved earlier (a BIDS file of this cap on this head)."""
        if name not in self.rows:
            raise DigitisationError(f"{name} is not in this electrode set")
        p = np.asarray(position_mm, float).reshape(3)
        self.rows[name] = ElectrodeStatus(name, INTERPOLATED if interpolated else CAPTURED,
                                          position_mm=p.copy(),
                                          touched_mm=None if interpolated else p.copy(), reason=reason)
        self.current = self.next_pending()

    def interpolate_missing(self) -> list[str]:
        """Fill every electrode not captured from the touched ones; returns the names filled."""
        done = self.captured()
        if len(done) < MIN_FOR_INTERPOLATION:
            raise DigitisationError(f"interpolating needs at least {MIN_FOR_INTERPOLATION} touched "
                                    f"electrodes spread over the cap; {len(done)} touched so far")
        src = np.array([self.expected[n] for n in done])
        dst = np.array([self.rows[n].position_mm for n in done])
        s, r, t = similarity_fit(src, dst)
        rms = float(np.sqrt(np.mean(np.sum((src @ (s * r).T + t - dst) ** 2, axis=1))))
        todo = [n for n in self.order if self.rows[n].status in (PENDING, REFUSED)]
        if not todo:
            return []
        pts = project_to_scalp(self.surface, np.array([s * r @ self.expected[n] + t for n in todo]))
        for name, p in zip(todo, pts):
            self.rows[name] = ElectrodeStatus(name, INTERPOLATED, position_mm=p,
                                              reason=f"from {len(done)} touched electrodes "
                                                     f"(fit residual {rms:.1f} mm RMS)")
        self.current = None
        return todo
