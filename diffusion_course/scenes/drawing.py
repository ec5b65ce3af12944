"""Drawing a scene from its labels: our own art, by code.

Everything is drawn at SUPERSAMPLE x the output size and box-filtered down (anti-aliasing), so a
32x32 scene stays crisp. ``render`` paints the whole picture; ``layers`` paints each object alone on
a transparent canvas, which is what the judge's re-drawing (analysis by synthesis) compares with.
"""
from __future__ import annotations

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
    """An RGB canvas with coverage (alpha) at SUPERSAMPLE x the output size; shapes are painted as masks."""

    def __init__(self, size: int):
        self.size, self.k = size, SUPERSAMPLE
        n = size * self.k
        # Pixel centres in output-pixel units, so shapes are written in output coordinates.
        c = (np.arange(n) + 0.5) / self.k
        self.x, self.y = np.meshgrid(c, c)
        self.rgb = np.zeros((n, n, 3), np.float32)
        self.alpha = np.zeros((n, n), np.float32)

    def paint(self, mask: np.ndarray, colour) -> None:
        self.rgb[mask] = colour
        self.alpha[mask] = 1.0

    def downsample(self, a: np.ndarray | None = None) -> np.ndarray:
        a = self.rgb if a is None else a
        n, k = self.size, self.k
        return a.reshape(n, k, n, k, *a.shape[2:]).mean(axis=(1, 3))


def _sky(cv: _Canvas, rng: np.random.Generator) -> None:
    top = np.array([0.03, 0.05, 0.14]) + rng.uniform(-0.01, 0.02, 3)
    bottom = np.array([0.10, 0.14, 0.36]) + rng.uniform(-0.03, 0.03, 3) * np.array([1, 1.5, 1])
    tint = rng.choice(3)  # 0: navy, 1: purple dusk, 2: teal
    bottom = bottom + [(0, 0, 0), (0.08, -0.02, 0.04), (-0.03, 0.06, 0.0)][tint]
    w = (cv.y / cv.size)[..., None]
    cv.rgb[:] = (1 - w) * top + w * bottom


def _stars(cv: _Canvas, labels: SceneLabels, rng: np.random.Generator) -> None:
    k = cv.k
    for x, y in labels.stars:
        b = rng.uniform(0.55, 1.0)
        colour = np.array([1.0, 0.97, 0.85]) * b
        cv.rgb[y * k:(y + 1) * k, x * k:(x + 1) * k] = colour
        if b > 0.9 and 1 <= x < cv.size - 1 and 1 <= y < cv.size - 1:  # a sparkle
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                sl = np.s_[(y + dy) * k:(y + dy + 1) * k, (x + dx) * k:(x + dx + 1) * k]
                cv.rgb[sl] = 0.5 * cv.rgb[sl] + 0.5 * colour * 0.7


def _moon(cv: _Canvas, labels: SceneLabels) -> None:
    mx, my, r = labels.moon
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
    cv = _Canvas(labels.size)
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
