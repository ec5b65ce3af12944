"""What a scene holds: its ground truth (``SceneLabels``), the relations read from it, and how
the contents of a scene are drawn at random (the *scene world*).

Scene-world versions (each card names the one its model was trained on):

* **1**: a blue pup *beside* a flying rocket, a moon, stars (notebooks 00-05, the shipped
  unconditional U-Net and DiT).
* **2** (``WORLD``, the default): world 1's scenes plus relations you can say in words: the pup
  sitting *in* the rocket (its head in the window) or *beside* it, to its left or right; the rocket
  *near* the moon or *far from* it, to its left or right; the rocket *flying* (flame trail) or
  *standing* (upright on the ground, no flame). A standing rocket is never near the moon (the moon
  is high in the sky), so "near" implies "flying".

Every world-1 kind of scene is still a world-2 scene: beside + flying.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIZE = 32  # default output side, pixels
WORLD = 2  # the default scene-world version
WORLDS = (1, 2)

ROCKET_COLOURS = {
    "red": (0.88, 0.15, 0.15),
    "orange": (0.98, 0.55, 0.10),
    "yellow": (0.98, 0.85, 0.15),
    "green": (0.20, 0.72, 0.25),
    "purple": (0.58, 0.30, 0.82),
    "white": (0.93, 0.93, 0.95),
}
MOON_PHASES = ("full", "crescent")
# Object vocabulary used by label vectors (the scene judge, classifier-free guidance).
OBJECTS = ("pup", "rocket", "moon")
# Relations, each a yes/no question that only makes sense when both objects are there.
RELATIONS = ("pup_in_rocket", "pup_left_of_rocket", "rocket_near_moon", "rocket_left_of_moon", "rocket_flying")
# Every fact a sentence can state about a scene: ``facts(labels)`` and ``words.parse`` share these keys.
FACTS = (*OBJECTS, "colour", "phase", *RELATIONS)

# Distances in 32-px units (scaled with the image): the rocket is near the moon when their centres
# are closer than NEAR, far when farther than FAR; world 2 never draws the band between, so the
# relation is never a matter of opinion. Left/right likewise needs SIDE_GAP pixels between centres.
NEAR, FAR, SIDE_GAP = 12.0, 16.5, 4.0
# In the window: the pup's head radius and the window's, as fractions of the rocket's length.
HEAD_IN_WINDOW, WINDOW_AROUND_HEAD = 0.17, 0.23
WINDOW_AT = 0.12  # the window's centre sits this fraction of the length above the rocket's centre


@dataclass(frozen=True)
class SceneLabels:
    """Ground truth for one scene. Positions are pixel coordinates (x right, y down) in the output
    image; ``None`` means the object is absent."""

    pup: tuple[float, float, float] | None = None  # (x, y, head radius)
    rocket: tuple[float, float, float, float] | None = None  # (x, y, length, tilt degrees)
    rocket_colour: str | None = None
    moon: tuple[float, float, float] | None = None  # (x, y, radius)
    moon_phase: str | None = None  # "full" | "crescent"
    stars: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    size: int = SIZE
    pup_in: bool = False  # the pup sits in the rocket: its head fills the window
    flying: bool = True  # the rocket flies (flame trail); False: stands upright, no flame
    moon_angle: float = 0.0  # which way a crescent's dark part lies (radians)
    phrasing: int = 0  # which of the caption's phrasings this scene's caption uses
    world: int = WORLD

    @property
    def objects(self) -> tuple[str, ...]:
        return tuple(o for o in OBJECTS if getattr(self, o) is not None)

    @property
    def relations(self) -> dict[str, bool | None]:
        """Each relation of ``RELATIONS``: True / False, or None where it does not apply."""
        return {k: v for k, v in facts(self).items() if k in RELATIONS}

    def vector(self) -> np.ndarray:
        """Multi-hot presence vector over ``OBJECTS``: (pup, rocket, moon)."""
        return np.array([getattr(self, o) is not None for o in OBJECTS], dtype=np.float32)


def applies(pup: bool, rocket: bool, moon: bool, pup_in: bool) -> dict[str, bool]:
    """Which relations a scene with these objects has at all (the pup's side only when it is not inside)."""
    return {"pup_in_rocket": pup and rocket, "pup_left_of_rocket": pup and rocket and not pup_in,
            "rocket_near_moon": rocket and moon, "rocket_left_of_moon": rocket and moon, "rocket_flying": rocket}


def facts(labels: SceneLabels) -> dict[str, bool | str | None]:
    """Everything a sentence could say about a scene, keyed by ``FACTS``: objects (bool), the
    rocket's colour and the moon's phase (or None), and each relation (None where it does not apply)."""
    pup, rocket, moon = labels.pup, labels.rocket, labels.moon
    s = labels.size / SIZE
    values = {"pup_in_rocket": labels.pup_in, "rocket_flying": labels.flying}
    if pup is not None and rocket is not None:
        values["pup_left_of_rocket"] = bool(pup[0] < rocket[0])
    if rocket is not None and moon is not None:
        values["rocket_near_moon"] = bool(np.hypot(rocket[0] - moon[0], rocket[1] - moon[1]) < 0.5 * (NEAR + FAR) * s)
        values["rocket_left_of_moon"] = bool(rocket[0] < moon[0])
    ok = applies(pup is not None, rocket is not None, moon is not None, labels.pup_in)
    return {"pup": pup is not None, "rocket": rocket is not None, "moon": moon is not None,
            "colour": labels.rocket_colour, "phase": labels.moon_phase,
            **{k: values[k] if ok[k] else None for k in RELATIONS}}


# Every fact as numbers: two slots per object and per relation (yes, no), one per colour and per phase.
# A fact not said (None) leaves its slots at 0, so "nothing said" is the zero vector (notebook 06's models).
DESCRIPTION = (*(f"{k}={v}" for k in (*OBJECTS, *RELATIONS) for v in ("yes", "no")),
               *(f"colour={c}" for c in ROCKET_COLOURS), *(f"phase={p}" for p in MOON_PHASES))


def describe(said: dict[str, bool | str | None]) -> np.ndarray:
    """A scene description as a vector over ``DESCRIPTION`` (float32): the facts of a scene (``facts``) or of a
    sentence (``words.parse``), one-hot per fact said, zeros for each fact not said (None)."""
    unknown = set(said) - set(FACTS)
    if unknown:
        raise ValueError(f"a description states facts among {', '.join(FACTS)}; got unknown {sorted(unknown)}")
    v = np.zeros(len(DESCRIPTION), dtype=np.float32)
    for k, value in said.items():
        if value is None:
            continue
        slot = f"{k}={value}" if k in ("colour", "phase") else f"{k}={'yes' if value else 'no'}"
        if slot not in DESCRIPTION:
            raise ValueError(f"{k}={value!r} is not a fact of the scene world; known: {', '.join(DESCRIPTION)}")
        v[DESCRIPTION.index(slot)] = 1.0
    return v


# --------------------------------------------------------------------------- sampling

PHRASINGS = 1 << 16  # a scene picks its phrasing as a number, taken modulo how many phrasings it has


def sample_labels(rng: np.random.Generator, size: int = SIZE, world: int = WORLD) -> SceneLabels:
    """Draw the contents of one scene: what is there, where, how big, what colour, how related."""
    if world not in WORLDS:
        raise ValueError(f"unknown scene world {world!r}; known worlds: {', '.join(map(str, WORLDS))}")
    s = size / 32  # all geometry below is written for 32 px and scaled
    has_pup = rng.random() < 0.6
    has_rocket = rng.random() < 0.6
    has_moon = rng.random() < 0.55
    pup_left = rng.random() < 0.5  # the pup and the rocket stand on opposite sides when both are present
    flying = world == 1 or rng.random() < 0.7
    pup_in = world == 2 and has_pup and has_rocket and rng.random() < 0.4
    want_near = rng.random() < 0.5
    colour = str(rng.choice(list(ROCKET_COLOURS))) if has_rocket else None
    phase = str(rng.choice(MOON_PHASES)) if has_moon else None
    moon_angle = rng.uniform(-0.6, 0.6) + (np.pi if rng.random() < 0.5 else 0.0)
    pup = rocket = moon = None
    for _ in range(200):  # rejection sampling of the layout (world 2 asks for clear relations)
        if has_rocket:
            if pup_in:
                x_lo, x_hi = 7, 25
            else:
                x_lo, x_hi = (22, 26) if (has_pup and pup_left) else (6, 10) if has_pup else (8, 24)
            length = rng.uniform(16, 20) if pup_in else rng.uniform(13, 18)
            if flying:
                rocket = (rng.uniform(x_lo, x_hi), rng.uniform(13, 21), length, rng.uniform(-35, 35))
            else:  # upright, its fins on the ground
                rocket = (rng.uniform(x_lo, x_hi), 30.5 - 0.4 * length, length, 0.0)
        if has_moon:
            moon = (rng.uniform(5, 27), rng.uniform(4.5, 8), rng.uniform(3.0, 4.2))
        if world == 1 or not (has_rocket and has_moon) or _clear(rocket, moon, want_far=not (want_near and flying)):
            break
    if has_pup:
        if pup_in:  # the head in the window, which sits on the rocket's axis above its centre
            x, y, length, tilt = rocket
            th = np.deg2rad(tilt)
            pup = (float(x + WINDOW_AT * length * np.sin(th)), float(y - WINDOW_AT * length * np.cos(th)),
                   HEAD_IN_WINDOW * length)
        else:
            lo, hi = (7, 11) if (has_rocket and pup_left) else (21, 25) if has_rocket else (9, 23)
            pup = (rng.uniform(lo, hi), rng.uniform(18, 25), rng.uniform(5.0, 6.8))
    n_stars = int(rng.integers(3, 16))
    stars = tuple((int(rng.integers(0, size)), int(rng.integers(0, size))) for _ in range(n_stars))
    phrasing = int(rng.integers(PHRASINGS))

    def scaled(t):
        return None if t is None else tuple(v * s for v in t[:3]) + tuple(t[3:])

    return SceneLabels(scaled(pup), scaled(rocket), colour, scaled(moon), phase, stars, size,
                       pup_in, flying, float(moon_angle), phrasing, world)


def _clear(rocket, moon, want_far: bool) -> bool:
    """A world-2 layout: the rocket clearly near (or far from) the moon and clearly to one side.
    Positions in 32-px units. A near rocket's nose may just cross the moon's edge, no more."""
    dx, dy = rocket[0] - moon[0], rocket[1] - moon[1]
    d = np.hypot(dx, dy)
    near_ok = moon[2] + 0.3 * rocket[2] < d < NEAR
    return abs(dx) >= SIDE_GAP and (d > FAR if want_far else near_ok)
