"""Procedural night-sky scenes: our own art, labels and captions, from a seed.

Every scene is a small picture of a night sky that may hold a blue pup, a rocket,
a moon (full or crescent) and stars. Everything is drawn here, by code, at 4x the
output size and box-filtered down (anti-aliasing), so a 32x32 scene stays crisp.

Each image comes with its ground truth (``SceneLabels``): which objects are there,
where, how big and what colour, and a caption generated from those labels. The
labels make honest metrics possible later (a scene judge), and the captions are
the training pairs for the tiny CLIP.

Scene ``i`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``, so it
is the same whatever batch it is drawn in.

    >>> x, labels = batch(16, seed=0)     # x: (16, 3, 32, 32) float32 in [-1, 1]
    >>> labels[0].caption
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .images import dequantize, quantize

SIZE = 32  # default output side, pixels
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
ROCKET_COLOURS = {
    "red": (0.88, 0.15, 0.15),
    "orange": (0.98, 0.55, 0.10),
    "yellow": (0.98, 0.85, 0.15),
    "green": (0.20, 0.72, 0.25),
    "purple": (0.58, 0.30, 0.82),
    "white": (0.93, 0.93, 0.95),
}
# The trim (nose cone and fins) each body colour wears.
ROCKET_TRIM = {
    "red": "white", "orange": "white", "yellow": "red",
    "green": "yellow", "purple": "yellow", "white": "red",
}
MOON_PHASES = ("full", "crescent")
# Object vocabulary used by label vectors (the scene judge, classifier-free guidance).
OBJECTS = ("pup", "rocket", "moon")


@dataclass(frozen=True)
class SceneLabels:
    """Ground truth for one scene. Positions are pixel coordinates (x right, y down)
    in the output image; ``None`` means the object is absent."""

    pup: tuple[float, float, float] | None = None  # (x, y, head radius)
    rocket: tuple[float, float, float, float] | None = None  # (x, y, length, tilt degrees)
    rocket_colour: str | None = None
    moon: tuple[float, float, float] | None = None  # (x, y, radius)
    moon_phase: str | None = None  # "full" | "crescent"
    stars: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    size: int = SIZE

    @property
    def objects(self) -> tuple[str, ...]:
        return tuple(o for o in OBJECTS if getattr(self, o) is not None)

    @property
    def caption(self) -> str:
        return caption(self)

    def vector(self) -> np.ndarray:
        """Multi-hot presence vector over ``OBJECTS``: (pup, rocket, moon)."""
        return np.array([getattr(self, o) is not None for o in OBJECTS], dtype=np.float32)


def _a(word: str) -> str:
    """The word with its indefinite article: "a red", "an orange"."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def caption(labels: SceneLabels) -> str:
    """Describe a scene in plain words, from its labels only."""
    things = []
    rocket = f"{_a(labels.rocket_colour)} rocket" if labels.rocket is not None else None
    if labels.pup is not None and rocket:
        left_pup = labels.pup[0] < labels.rocket[0]
        things.append(f"a blue pup beside {rocket}" if left_pup else f"{rocket} beside a blue pup")
    elif labels.pup is not None:
        things.append("a blue pup")
    elif rocket:
        things.append(rocket)
    moon = f"a {labels.moon_phase} moon" if labels.moon is not None else None
    if things and moon:
        return f"{things[0]} under {moon}"
    if things:
        return things[0] + (" among the stars" if len(labels.stars) >= 8 else " in the night sky")
    if moon:
        return f"{moon} in a starry sky"
    return "an empty starry sky"


# --------------------------------------------------------------------------- sampling


def sample_labels(rng: np.random.Generator, size: int = SIZE) -> SceneLabels:
    """Draw the contents of one scene: what is there, where, how big, what colour."""
    s = size / 32  # all geometry below is written for 32 px and scaled
    has_pup = rng.random() < 0.6
    has_rocket = rng.random() < 0.6
    has_moon = rng.random() < 0.55
    pup = rocket = moon = None
    colour = phase = None
    # The pup and the rocket stand on opposite sides when both are present.
    pup_left = rng.random() < 0.5
    if has_pup:
        r = rng.uniform(5.0, 6.8)
        lo, hi = (7, 11) if (has_rocket and pup_left) else (21, 25) if has_rocket else (9, 23)
        pup = (rng.uniform(lo, hi) * s, rng.uniform(18, 25) * s, r * s)
    if has_rocket:
        length = rng.uniform(13, 18)
        lo, hi = (22, 26) if (has_pup and pup_left) else (6, 10) if has_pup else (8, 24)
        rocket = (rng.uniform(lo, hi) * s, rng.uniform(13, 21) * s, length * s, rng.uniform(-35, 35))
        colour = str(rng.choice(list(ROCKET_COLOURS)))
    if has_moon:
        # Upper part of the sky, on the side with more room.
        x = rng.uniform(5, 27)
        moon = (x * s, rng.uniform(4.5, 8) * s, rng.uniform(3.0, 4.2) * s)
        phase = str(rng.choice(MOON_PHASES))
    n_stars = int(rng.integers(3, 16))
    stars = tuple((int(rng.integers(0, size)), int(rng.integers(0, size))) for _ in range(n_stars))
    return SceneLabels(pup, rocket, colour, moon, phase, stars, size)


# --------------------------------------------------------------------------- drawing


class _Canvas:
    """An RGB canvas at SUPERSAMPLE x the output size; shapes are painted as masks."""

    def __init__(self, size: int):
        self.size, self.k = size, SUPERSAMPLE
        n = size * self.k
        # Pixel centres in output-pixel units, so shapes are written in output coordinates.
        c = (np.arange(n) + 0.5) / self.k
        self.x, self.y = np.meshgrid(c, c)
        self.rgb = np.zeros((n, n, 3), np.float32)

    def paint(self, mask: np.ndarray, colour) -> None:
        self.rgb[mask] = colour

    def downsample(self) -> np.ndarray:
        n, k = self.size, self.k
        return self.rgb.reshape(n, k, n, k, 3).mean(axis=(1, 3))


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


def _moon(cv: _Canvas, labels: SceneLabels, rng: np.random.Generator) -> None:
    mx, my, r = labels.moon
    disc = (cv.x - mx) ** 2 + (cv.y - my) ** 2 < r ** 2
    if labels.moon_phase == "crescent":
        a = rng.uniform(-0.6, 0.6) + (np.pi if rng.random() < 0.5 else 0.0)
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
    flame = (np.abs(u) < 0.10 * L * np.clip(1.25 - vn, 0, 1) * 2) & (vn >= 0.75) & (vn < 1.2)
    inner_flame = flame & (np.abs(u) < 0.05 * L) & (vn < 1.05)
    cv.paint(flame, FLAME[0])
    cv.paint(inner_flame, FLAME[1])
    cv.paint(fin, trim)
    cv.paint(hull, body)
    cv.paint(hull & (vn < -0.45), trim)  # the nose cone
    wr = 0.11 * L
    wy = -0.12 * L
    ring = u ** 2 + (v - wy) ** 2
    cv.paint(ring < (wr * 1.3) ** 2, WINDOW_RIM)
    cv.paint(ring < wr ** 2, WINDOW)


def _pup(cv: _Canvas, labels: SceneLabels) -> None:
    px, py, r = labels.pup
    dx, dy = cv.x - px, cv.y - py
    head = (dx / (1.15 * r)) ** 2 + (dy / r) ** 2 < 1
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


def render(labels: SceneLabels, rng: np.random.Generator) -> np.ndarray:
    """Draw a scene from its labels; returns (H, W, 3) float32 in [0, 1]."""
    cv = _Canvas(labels.size)
    _sky(cv, rng)
    _stars(cv, labels, rng)
    if labels.moon is not None:
        _moon(cv, labels, rng)
    if labels.rocket is not None:
        _rocket(cv, labels)
    if labels.pup is not None:
        _pup(cv, labels)
    return np.clip(cv.downsample(), 0.0, 1.0)


def scene(seed: int, index: int = 0, size: int = SIZE) -> tuple[np.ndarray, SceneLabels]:
    """Scene number ``index`` of ``seed``: ((H, W, 3) float32 in [0, 1], labels)."""
    rng = np.random.default_rng([seed, index])
    labels = sample_labels(rng, size)
    return render(labels, rng), labels


def batch(n: int, seed: int = 0, start: int = 0, size: int = SIZE) -> tuple[torch.Tensor, list[SceneLabels]]:
    """``n`` scenes as a tensor (n, 3, size, size) in [-1, 1], plus their labels.

    Scenes ``start .. start + n - 1`` of ``seed``; each is independent of ``n``.
    """
    if n < 0 or size < 16:
        raise ValueError(f"batch needs n >= 0 and size >= 16, got n={n}, size={size}")
    imgs, labels = [], []
    for i in range(start, start + n):
        img, lab = scene(seed, i, size)
        imgs.append(img)
        labels.append(lab)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2) if imgs else torch.empty(0, 3, size, size)
    return x.contiguous() * 2 - 1, labels


class ScenePool(torch.utils.data.Dataset):
    """A fixed pool of scenes held in memory as uint8 (4x smaller than float).

    Training draws from a cached pool because drawing a scene costs about as much
    as a small model's training step on a CPU.
    """

    def __init__(self, n: int, seed: int = 0, size: int = SIZE, progress: bool = False):
        chunks, self.labels = [], []
        for start in tqdm(range(0, n, 256), desc="drawing scenes", disable=not progress):
            x, lab = batch(min(256, n - start), seed, start, size)
            chunks.append(quantize(x))
            self.labels += lab
        self.images = torch.cat(chunks) if chunks else torch.empty(0, 3, size, size, dtype=torch.uint8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return dequantize(self.images[i])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A random minibatch (n, 3, H, W) in [-1, 1], with random horizontal flips."""
        idx = torch.randint(len(self.images), (n,), generator=generator)
        x = dequantize(self.images[idx])
        flip = torch.rand(n, generator=generator) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(-1), x)
