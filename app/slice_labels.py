"""Place marker labels on a slice so that no two overlap and none covers another marker.

Why: targets a few millimetres apart (e.g. two motor hotspots 5 mm apart, about 7 screen pixels
at the default zoom) got their labels drawn at the same offset from each dot, one over the
other, so neither could be read (issue 12). This is the usual greedy point-feature labelling
(Christensen, Marks & Shieber, "An empirical study of algorithms for point-feature label
placement", ACM TOG 14(3), 1995): try the eight positions around the dot in a fixed order of
preference (upper right first, as cartographers do), take the first that is free; if none is
free, stack the label farther up or down and draw a leader line back to its dot.

Plain geometry in widget pixels (no Qt), so it is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Box", "Placement", "place_labels"]


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in widget pixels (y grows downward)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def intersects(self, other: "Box", pad: float = 0.0) -> bool:
        return not (self.right + pad <= other.x or other.right + pad <= self.x
                    or self.bottom + pad <= other.y or other.bottom + pad <= self.y)

    def inside(self, other: "Box") -> bool:
        return (self.x >= other.x and self.y >= other.y and self.right <= other.right
                and self.bottom <= other.bottom)

    def nearest_point(self, px: float, py: float) -> tuple[float, float]:
        """The point of this box closest to (px, py) (where a leader line ends)."""
        return min(max(px, self.x), self.right), min(max(py, self.y), self.bottom)


@dataclass(frozen=True)
class Placement:
    box: Box
    leader: bool      # True: away from its dot; draw a line from the dot to the box


def _candidates(ax: float, ay: float, w: float, h: float, r: float) -> list[Box]:
    """The eight positions around a dot of radius ``r``, in order of preference."""
    return [Box(ax + r, ay - r - h, w, h),          # upper right
            Box(ax + r + 1, ay - h / 2, w, h),      # right
            Box(ax + r, ay + r, w, h),              # lower right
            Box(ax - r - w, ay - r - h, w, h),      # upper left
            Box(ax - r - 1 - w, ay - h / 2, w, h),  # left
            Box(ax - r - w, ay + r, w, h),          # lower left
            Box(ax - w / 2, ay - r - 2 - h, w, h),  # above
            Box(ax - w / 2, ay + r + 2, w, h)]      # below


def place_labels(anchors: list[tuple[float, float]], sizes: list[tuple[float, float]],
                 bounds: Box, *, obstacles: list[tuple[float, float]] | None = None,
                 blocked: list[Box] | None = None, dot_radius: float = 6.0, gap: float = 2.0,
                 max_rings: int = 12) -> list[Placement]:
    """One box per label (same order as ``anchors``): no two boxes intersect (``gap`` pixels
    apart), no box covers another anchor's dot or an ``obstacles`` dot (unlabelled markers) or a
    ``blocked`` area (edge letters, buttons), and boxes stay inside ``bounds`` when there is room.

    Labels are placed top to bottom (then left to right), so the result does not depend on the
    order targets were added in.
    """
    if len(anchors) != len(sizes):
        raise ValueError("one size per anchor")
    dots = [Box(x - dot_radius, y - dot_radius, 2 * dot_radius, 2 * dot_radius)
            for x, y in [*anchors, *(obstacles or [])]]
    placed: list[Box] = []
    reserved = list(blocked or [])
    result: dict[int, Placement] = {}
    order = sorted(range(len(anchors)), key=lambda i: (anchors[i][1], anchors[i][0]))

    def free(box: Box, me: int, need_inside: bool = True) -> bool:
        if need_inside and not box.inside(bounds):
            return False
        if any(box.intersects(p, gap) for p in placed) or any(box.intersects(b) for b in reserved):
            return False
        return not any(box.intersects(d) for j, d in enumerate(dots) if j != me)

    for i in order:
        ax, ay = anchors[i]
        w, h = sizes[i]
        choice = next((b for b in _candidates(ax, ay, w, h, dot_radius) if free(b, i)), None)
        leader = False
        if choice is None:       # stack away from the crowd, upward first, with a leader line
            leader = True
            step = h + gap
            rings = [Box(ax + dot_radius, ay - dot_radius - h - k * step * sign, w, h)
                     for k in range(1, max_rings + 1) for sign in (1, -1)]
            rings += [Box(ax - dot_radius - w, b.y, w, h) for b in rings]
            choice = next((b for b in rings if free(b, i)), None)
        if choice is None:       # a crowded edge: anywhere free, scanning the whole view
            step = h + gap
            y = bounds.y
            while choice is None:
                for x in (ax + dot_radius, ax - dot_radius - w, bounds.x, bounds.right - w):
                    box = Box(x, y, w, h)
                    if free(box, i, need_inside=y + h <= bounds.bottom):
                        choice = box
                        break
                y += step
        placed.append(choice)
        result[i] = Placement(choice, leader)
    return [result[i] for i in range(len(anchors))]
