"""Label collision tests for figures laid out in inches: convex polygons and obstacles.

Theory of operation: a label rotated along an arrow is an oriented rectangle; an arrow is
a line segment; both are convex polygons. Two convex polygons are disjoint exactly when
some edge normal of one of them separates their projections (the separating-axis
theorem), so `overlap` tries every edge normal of both. `Obstacles` keeps what has been
placed, by kind ("label", "arrow", "cross"), with bounding boxes so most candidates are
rejected without projecting anything.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

def overlap(P: Sequence[Tuple[float, float]], Q: Sequence[Tuple[float, float]]) -> bool:
    """Do two convex polygons (or segments) intersect? Separating-axis theorem."""
    for poly in (P, Q):
        n = len(poly)
        for k in range(n if n > 2 else 1):
            (x1, y1), (x2, y2) = poly[k], poly[(k + 1) % n]
            ax_, ay_ = y1 - y2, x2 - x1
            pp = [ax_ * x + ay_ * y for x, y in P]
            qq = [ax_ * x + ay_ * y for x, y in Q]
            if max(pp) < min(qq) - 1e-12 or max(qq) < min(pp) - 1e-12:
                return False
    return True


def bbox(poly):
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


class Obstacles:
    """Placed polygons by kind; `hits` counts those of one kind a polygon overlaps."""

    def __init__(self):
        self.items: List[Tuple[str, tuple, list]] = []

    def add(self, kind: str, poly: list) -> None:
        self.items.append((kind, bbox(poly), poly))

    def hits(self, poly: list, kind: str, skip=None) -> int:
        bx = bbox(poly)
        n = 0
        for k, b, q in self.items:
            if k != kind or q is skip or b[0] > bx[2] or b[2] < bx[0] or b[1] > bx[3] \
                    or b[3] < bx[1]:
                continue
            n += overlap(poly, q)
        return n
