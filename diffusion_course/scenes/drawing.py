"""Drawing a scene from its labels: our own art, by code.

Everything is drawn at SUPERSAMPLE x the output size and box-filtered down (anti-aliasing), so a
32x32 scene stays crisp. ``render`` paints the whole picture; ``layers`` paints each object alone on
a transparent canvas, which is what the judge's re-drawing (analysis by synthesis) compares with.
"""
from __future__ import annotations

import copy
import functools

import numpy as np

from .labels import HEAD_IN_WINDOW, ROCKET_COLOURS, WINDOW_AROUND_HEAD, WINDOW_AT, SceneLabels

SUPERSAMPLE = 4  # drawing resolution factor before box filtering

# Colours in [0, 1] RGB.
PUP_BLUE = (0.30, 0.52, 0.95)
PUP_EAR = (0.16, 0.30, 0.72)
PUP_MUZZLE = (0.88, 0.92, 1.00)
PUP_DARK = (0.05, 0.06, 0.15)
MOON = (0.98, 0.94, 0.74)
WINDOW = (0.62, 0.86, 1.00)
WINDOW_RIM = (0.20, 0.35, 0.60)
FLAME = ((1.00, 0.62, 0.12), (1.00, 0.90, 0.35))
# The trim (nose cone and fins) each body colour wears.
ROCKET_TRIM = {
    "red": "white", "orange": "white", "yellow": "red",
    "green": "yellow", "purple": "yellow", "white": "red",
}


class _Canvas:
    """An RGB canvas with coverage (alpha) at SUPERSAMPLE x the output size; shapes are painted as masks.

    Stored as k x k sub-pixel planes, rgb (k, k, 3, n, n) and alpha (k, k, n, n): plane (p, q) holds sub-pixel
    (p, q) of every output pixel (the canvas pixel (n_i k + p, n_j k + q)). Masks are elementwise, so the layout
    changes no value; it makes the box filter whole-plane adds and a box of output pixels a slice of every plane.
    Coordinates ``x`` (1, k, 1, n) and ``y`` (k, 1, n, 1) broadcast to (k, k, n, n): a term in x alone costs a
    k x n array, not a plane. ``crop`` gives the canvas of a box around a shape, painting through to this one.
    """

    def __init__(self, size: int, coverage: bool = True):
        self.size, self.k = size, SUPERSAMPLE
        x = _centres(size).reshape(size, self.k).T  # (k, n): sub-pixel q of output pixel j
        self.x, self.y = x[None, :, None, :], x[:, None, :, None]
        self.rgb = np.zeros((self.k, self.k, 3, size, size), np.float32)
        self.alpha = np.zeros((self.k, self.k, size, size), np.float32) if coverage else None
        self.left = self.top = 0  # where this canvas's pixel (0, 0) lies on the whole picture

    def crop(self, cx: float, cy: float, r: float) -> _Canvas:
        """The canvas of the output pixels within ``r`` (and one more) of (cx, cy), a view of this one, to paint
        a shape that lies within ``r`` of that point: every sub-pixel its masks can reach is in the box."""
        h, w = self.rgb.shape[-2:]
        x0, x1 = (min(max(int(v) - self.left, 0), w) for v in (np.floor(cx - r) - 1, np.ceil(cx + r) + 1))
        y0, y1 = (min(max(int(v) - self.top, 0), h) for v in (np.floor(cy - r) - 1, np.ceil(cy + r) + 1))
        box = copy.copy(self)
        box.x, box.y = self.x[..., x0:x1], self.y[:, :, y0:y1]
        box.rgb = self.rgb[..., y0:y1, x0:x1]
        box.alpha = None if self.alpha is None else self.alpha[..., y0:y1, x0:x1]
        box.left, box.top = self.left + x0, self.top + y0
        return box

    def paint(self, mask: np.ndarray, colour) -> None:
        np.copyto(self.rgb, np.asarray(colour, np.float32)[:, None, None], where=mask[:, :, None])
        if self.alpha is not None:
            np.copyto(self.alpha, 1.0, where=mask)

    def downsample(self, a: np.ndarray | None = None) -> np.ndarray:
        """The box filter: each output pixel the mean of its k x k sub-pixels, (n, n, 3) (or (n, n) for alpha).
        Summed plane by plane in row-major sub-pixel order, the order in which ``rgb.mean(axis=(1, 3))`` adds
        them on the (n k, n k, 3) canvas, then divided as ``mean`` divides: the same float32 bits. (Coverage is
        0 or 1, so its sums are exact in any order.)"""
        a = self.rgb if a is None else a
        total = a[0, 0].copy()
        for p in range(self.k):
            for q in range(self.k):
                if p or q:
                    total += a[p, q]
        np.true_divide(total, np.intp(self.k * self.k), out=total, casting="unsafe")
        return np.ascontiguousarray(np.moveaxis(total, 0, -1)) if total.ndim == 3 else total


@functools.cache
def _centres(size: int) -> np.ndarray:
    """Sub-pixel centres along one side, (size k,), in output-pixel units: shapes are written in output coordinates."""
    c = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    c.flags.writeable = False
    return c


def _sky(cv: _Canvas, rng: np.random.Generator) -> None:
    top = np.array([0.03, 0.05, 0.14]) + rng.uniform(-0.01, 0.02, 3)
    bottom = np.array([0.10, 0.14, 0.36]) + rng.uniform(-0.03, 0.03, 3) * np.array([1, 1.5, 1])
    tint = rng.choice(3)  # 0: navy, 1: purple dusk, 2: teal
    bottom = bottom + [(0, 0, 0), (0.08, -0.02, 0.04), (-0.03, 0.06, 0.0)][tint]
    w = (cv.y / cv.size)[..., None]  # (k, 1, n, 1, 1): the sky only changes down the picture
    cv.rgb[:] = ((1 - w) * top + w * bottom).astype(np.float32).transpose(0, 1, 4, 2, 3)  # (k, 1, 3, n, 1)


def _stars(cv: _Canvas, labels: SceneLabels, rng: np.random.Generator) -> None:
    for x, y in labels.stars:
        b = rng.uniform(0.55, 1.0)
        colour = np.array([1.0, 0.97, 0.85]) * b
        cv.rgb[..., y, x] = colour  # (k, k, 3): every sub-pixel of output pixel (x, y)
        if b > 0.9 and 1 <= x < cv.size - 1 and 1 <= y < cv.size - 1:  # a sparkle
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                cv.rgb[..., y + dy, x + dx] = 0.5 * cv.rgb[..., y + dy, x + dx] + 0.5 * colour * 0.7


def _moon(cv: _Canvas, labels: SceneLabels) -> None:
    mx, my, r = labels.moon
    cv = cv.crop(mx, my, r)
    disc = (cv.x - mx) ** 2 + (cv.y - my) ** 2 < r ** 2
    if labels.moon_phase == "crescent":
        a = labels.moon_angle
        ox, oy = 0.55 * r * np.cos(a), -0.35 * r + 0.2 * r * np.sin(a)
        disc &= (cv.x - mx - ox) ** 2 + (cv.y - my - oy) ** 2 > (0.85 * r) ** 2
    cv.paint(disc, MOON)


def _rocket(cv: _Canvas, labels: SceneLabels) -> None:
    rx, ry, L, tilt = labels.rocket
    body = ROCKET_COLOURS[labels.rocket_colour]
    trim = ROCKET_COLOURS[ROCKET_TRIM[labels.rocket_colour]]
    th = np.deg2rad(tilt)
    cv = cv.crop(rx, ry, 0.65 * L)  # every part lies within 0.61 L of the centre (the fins' tips)
    dx, dy = cv.x - rx, cv.y - ry
    # Rocket frame: v along the axis (nose at v = -L/2), u across it.
    u = dx * np.cos(th) + dy * np.sin(th)
    v = -dx * np.sin(th) + dy * np.cos(th)
    vn = v / (L / 2)  # -1 at the nose, +1 at the tail
    half_w = 0.17 * L * np.sqrt(np.clip(1 - ((vn + 0.1) / 1.0) ** 2, 0, None))
    hull = (np.abs(u) < half_w) & (vn > -0.95) & (vn < 0.75)
    fin = (np.abs(u) < 0.17 * L + 0.28 * L * np.clip((vn - 0.2) / 0.6, 0, 1)) & (vn > 0.25) & (vn < 0.8)
    fin &= np.abs(u) > 0.05 * L
    if labels.flying:  # the flame trail
        flame = (np.abs(u) < 0.10 * L * np.clip(1.25 - vn, 0, 1) * 2) & (vn >= 0.75) & (vn < 1.2)
        cv.paint(flame, FLAME[0])
        cv.paint(flame & (np.abs(u) < 0.05 * L) & (vn < 1.05), FLAME[1])
    cv.paint(fin, trim)
    cv.paint(hull, body)
    cv.paint(hull & (vn < -0.45), trim)  # the nose cone
    ring = u ** 2 + (v + WINDOW_AT * L) ** 2
    if labels.pup_in:  # a wider window, with the pup's head in it
        cv.paint(ring < (WINDOW_AROUND_HEAD * L) ** 2, WINDOW_RIM)
        return
    wr = 0.11 * L
    cv.paint(ring < (wr * 1.3) ** 2, WINDOW_RIM)
    cv.paint(ring < wr ** 2, WINDOW)


def _pup(cv: _Canvas, labels: SceneLabels) -> None:
    px, py, r = labels.pup
    cv = cv.crop(px, py, 1.5 * r)  # every part lies within 1.5 r of the head's centre, across (the floppy ears)
    dx, dy = cv.x - px, cv.y - py
    head = (dx / (1.15 * r)) ** 2 + (dy / r) ** 2 < 1
    if labels.pup_in:  # in the window: a round head, ears up
        head = (dx / r) ** 2 + (dy / r) ** 2 < 1
        for side in (-1, 1):
            ear = ((cv.x - px - side * 0.75 * r) / (0.35 * r)) ** 2 + ((cv.y - py + 0.8 * r) / (0.5 * r)) ** 2 < 1
            cv.paint(ear, PUP_EAR)
    else:
        for side in (-1, 1):  # floppy ears hanging down either side
            ex, ey = px + side * 1.05 * r, py + 0.25 * r
            ear = ((cv.x - ex) / (0.45 * r)) ** 2 + ((cv.y - ey) / (0.8 * r)) ** 2 < 1
            cv.paint(ear, PUP_EAR)
    cv.paint(head, PUP_BLUE)
    muzzle = (dx / (0.55 * r)) ** 2 + ((dy - 0.45 * r) / (0.38 * r)) ** 2 < 1
    cv.paint(muzzle & head, PUP_MUZZLE)
    for side in (-1, 1):
        eye = (cv.x - px - side * 0.42 * r) ** 2 + (cv.y - py + 0.05 * r) ** 2 < (0.15 * r) ** 2
        cv.paint(eye, PUP_DARK)
    nose = (dx / (0.2 * r)) ** 2 + ((dy - 0.3 * r) / (0.13 * r)) ** 2 < 1
    cv.paint(nose, PUP_DARK)


# Painted in this order: later objects cover earlier ones.
PAINTERS = {"moon": _moon, "rocket": _rocket, "pup": _pup}
assert HEAD_IN_WINDOW < WINDOW_AROUND_HEAD  # the rim shows around the head


def render(labels: SceneLabels, rng: np.random.Generator) -> np.ndarray:
    """Draw a scene from its labels; returns (H, W, 3) float32 in [0, 1]."""
    cv = _Canvas(labels.size, coverage=False)
    _sky(cv, rng)
    _stars(cv, labels, rng)
    for name, paint in PAINTERS.items():
        if getattr(labels, name) is not None:
            paint(cv, labels)
    return np.clip(cv.downsample(), 0.0, 1.0)


def layers(labels: SceneLabels, only: tuple[str, ...] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each present object (or each of ``only``) drawn alone, in painting order: name -> (colour
    premultiplied by coverage (H, W, 3), coverage (H, W)), both at the output size. Composite them
    over a background with ``out = colour + (1 - coverage) * out``, in order, to re-draw the scene."""
    out = {}
    for name, paint in PAINTERS.items():
        if getattr(labels, name) is not None and (only is None or name in only):
            cv = _Canvas(labels.size)
            paint(cv, labels)
            out[name] = (cv.downsample(), cv.downsample(cv.alpha))
    return out
