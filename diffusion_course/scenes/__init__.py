"""Procedural night-sky scenes: our own art, labels and captions, from a seed.

Every scene is a small picture of a night sky that may hold a blue pup, a rocket, a moon (full or
crescent) and stars, related in ways a sentence can say: the pup sitting *in* the rocket or *beside*
it, the rocket *near* the moon or *far from* it, *flying* or *standing*, left or right of each other.

* ``labels``: the ground truth (``SceneLabels``), its ``facts`` and relations, and the scene world
  that draws them at random (``WORLD`` 2; world 1 is the relation-free world of notebooks 00-05).
* ``drawing``: pictures from labels (``render``), and each object alone (``layers``) for re-drawing.
* ``words``: captions in several phrasings, ``parse`` back to facts, ``CHALLENGE_PROMPTS``.

Scene ``i`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``, so it is the same
whatever batch it is drawn in.

    >>> x, labels = batch(16, seed=0)     # x: (16, 3, 32, 32) float32 in [-1, 1]
    >>> labels[0].caption
    >>> x, labels = sample_for("the pup sitting in a rocket flying near the moon", 8)
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from ..images import quantize
from ..pools import ImagePool
from .drawing import FLAME, MOON, PUP_BLUE, SUPERSAMPLE, WINDOW, layers, render
from .labels import (
    FACTS,
    MOON_PHASES,
    OBJECTS,
    RELATIONS,
    ROCKET_COLOURS,
    SIZE,
    WORLD,
    WORLDS,
    SceneLabels,
    applies,
    facts,
    sample_labels,
)
from .words import CHALLENGE_PROMPTS, VOCABULARY, caption, parse, phrasings, plain, satisfies

__all__ = [
    "CHALLENGE_PROMPTS",
    "FACTS",
    "FLAME",
    "MOON",
    "MOON_PHASES",
    "OBJECTS",
    "PUP_BLUE",
    "RELATIONS",
    "ROCKET_COLOURS",
    "SIZE",
    "SUPERSAMPLE",
    "VOCABULARY",
    "WINDOW",
    "WORLD",
    "WORLDS",
    "SceneLabels",
    "ScenePool",
    "applies",
    "batch",
    "caption",
    "facts",
    "layers",
    "parse",
    "phrasings",
    "plain",
    "render",
    "sample_for",
    "sample_labels",
    "satisfies",
    "scene",
]


def scene(seed: int, index: int = 0, size: int = SIZE, world: int = WORLD) -> tuple[np.ndarray, SceneLabels]:
    """Scene number ``index`` of ``seed``: ((H, W, 3) float32 in [0, 1], labels)."""
    rng = np.random.default_rng([seed, index])
    labels = sample_labels(rng, size, world)
    return render(labels, rng), labels


def _stack(imgs: list[np.ndarray], size: int) -> torch.Tensor:
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2) if imgs else torch.empty(0, 3, size, size)
    return x.contiguous() * 2 - 1


def batch(n: int, seed: int = 0, start: int = 0, size: int = SIZE,
          world: int = WORLD) -> tuple[torch.Tensor, list[SceneLabels]]:
    """``n`` scenes as a tensor (n, 3, size, size) in [-1, 1], plus their labels.

    Scenes ``start .. start + n - 1`` of ``seed``; each is independent of ``n``.
    """
    if n < 0 or size < 16:
        raise ValueError(f"batch needs n >= 0 and size >= 16, got n={n}, size={size}")
    pairs = [scene(seed, i, size, world) for i in range(start, start + n)]
    return _stack([p[0] for p in pairs], size), [p[1] for p in pairs]


MAX_TRIES_PER_SCENE = 2000  # sample_for gives up when not one scene in this many satisfies a prompt


def sample_for(prompt: str, n: int = 16, seed: int = 0, size: int = SIZE) -> tuple[torch.Tensor, list[SceneLabels]]:
    """``n`` real scenes that satisfy ``prompt`` (a sentence in the scene grammar), drawn from the
    world's own distribution given the prompt: scenes of ``seed`` are tried in order and kept when
    their facts agree with everything the prompt says. Same tensors and labels as ``batch`` gives for
    the kept scenes."""
    wanted = parse(prompt)
    if n < 1:
        raise ValueError(f"sample_for needs n >= 1, got {n}")
    imgs, kept = [], []
    for i in range(n * MAX_TRIES_PER_SCENE):
        rng = np.random.default_rng([seed, i])
        labels = sample_labels(rng, size)
        if satisfies(wanted, facts(labels)):
            imgs.append(render(labels, rng))
            kept.append(labels)
            if len(kept) == n:
                return _stack(imgs, size), kept
        elif i >= MAX_TRIES_PER_SCENE and not kept:
            break
    raise ValueError(f"no scene of world {WORLD} satisfies {prompt!r} (a standing rocket is never near "
                     f"the moon, for one); try one of {list(CHALLENGE_PROMPTS)}")


class ScenePool(ImagePool):
    """A fixed pool of scenes held in memory as uint8 (4x smaller than float).

    Training draws from a cached pool because drawing a scene costs about as much
    as a small model's training step on a CPU.
    """

    def __init__(self, n: int, seed: int = 0, size: int = SIZE, progress: bool = False, world: int = WORLD):
        chunks, self.labels = [], []
        for start in tqdm(range(0, n, 256), desc="drawing scenes", disable=not progress):
            x, lab = batch(min(256, n - start), seed, start, size, world)
            chunks.append(quantize(x))
            self.labels += lab
        super().__init__(torch.cat(chunks) if chunks else torch.empty(0, 3, size, size, dtype=torch.uint8))
