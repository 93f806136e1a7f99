"""Where the picture's edge labels go: each on its own edge, turned along it, at the spot
where it overlaps no other label, neuron or text and the fewest other edges cross it.

Measured with matplotlib's renderer (the extents the picture is drawn with), in display
pixels: a label's box is its text turned to the angle of its edge; another edge "crosses"
it when the segment enters that box (with ``PAD`` pixels around it).
"""
import math
from dataclasses import dataclass

import numpy as np

PAD = 3.0  # pixels kept clear around a label
# fractions along the edge, the middle first, then outwards in both directions
SPOTS = tuple(round(0.5 + sign * step * 0.035, 3) for step in range(12) for sign in ((1,) if step == 0 else (-1, 1)))


@dataclass
class EdgeLabel:
    """A label already on the axes (a ``Text``), for the edge from ``start`` to ``end``
    (data coordinates)."""
    text: object
    start: tuple[float, float]
    end: tuple[float, float]


def upright_angle(ax, start, end) -> float:
    """The angle of the edge on screen, in degrees, turned so that text reads left to right."""
    (x0, y0), (x1, y1) = ax.transData.transform([start, end])
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    return angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle


def _clips(p0, p1, half_w: float, half_h: float) -> bool:
    """Whether the segment p0-p1 enters the box |x| <= half_w, |y| <= half_h (Liang-Barsky)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 + half_w), (dx, half_w - x0), (-dy, y0 + half_h), (dy, half_h - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def crossings(center, angle: float, size, segments) -> int:
    """How many of ``segments`` (display pixels) enter a label of ``size`` (w, h) centred at
    ``center`` and turned by ``angle`` degrees."""
    cos, sin = math.cos(math.radians(-angle)), math.sin(math.radians(-angle))
    half_w, half_h = size[0] / 2 + PAD, size[1] / 2 + PAD
    count = 0
    for a, b in segments:
        local = [((x - center[0]) * cos - (y - center[1]) * sin, (x - center[0]) * sin + (y - center[1]) * cos)
                 for x, y in (a, b)]
        count += _clips(local[0], local[1], half_w, half_h)
    return count


def _overlaps(box, boxes) -> int:
    padded = box.padded(PAD)
    return sum(padded.overlaps(other) for other in boxes)


def place(ax, renderer, labels: list[EdgeLabel], segments: list, obstacles: list) -> None:
    """Move each of ``labels`` (in the order given: the first gets the best spot) to its
    best spot along its edge, turned along it; ``segments`` are the drawn edges as pairs of
    data points, ``obstacles`` the display boxes (``Bbox``) to keep clear of. Placed
    labels become obstacles of the next."""
    to_screen = ax.transData.transform
    screen = [(tuple(to_screen(a)), tuple(to_screen(b))) for a, b in segments]
    for label in labels:
        label.text.set_rotation(0)
        unturned = label.text.get_window_extent(renderer)
        size = (unturned.width, unturned.height)
        angle = upright_angle(ax, label.start, label.end)
        label.text.set_rotation(angle)
        own = (tuple(to_screen(label.start)), tuple(to_screen(label.end)))
        others = [s for s in screen if s != own]
        best = None
        start, end = np.array(label.start), np.array(label.end)
        for rank, t in enumerate(SPOTS):
            point = start + t * (end - start)
            label.text.set_position(tuple(point))
            box = label.text.get_window_extent(renderer)
            score = (_overlaps(box, obstacles), crossings(to_screen(point), angle, size, others), rank)
            if best is None or score < best[0]:
                best = (score, tuple(point), box)
            if score[:2] == (0, 0):
                break
        label.text.set_position(best[1])
        obstacles.append(best[2])
