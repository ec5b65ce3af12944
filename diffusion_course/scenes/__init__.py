"""Procedural night-sky scenes: our own art, labels and captions, from a seed.

Every scene is a small picture of a night sky that may hold a blue pup, a rocket, a moon (full or
crescent) and stars, related in ways a sentence can say: the pup sitting *in* the rocket or *beside*
it, the rocket *near* the moon or *far from* it, *flying* or *standing*, left or right of each other.

* ``labels``: the ground truth (``SceneLabels``), its ``facts`` and relations, and the scene world
  that draws them at random (``WORLD`` 2; world 1 is the relation-free world of notebooks 00-05).
* ``drawing``: pictures from labels (``render``), and each object alone (``layers``) for re-drawing.
* ``words``: captions in several phrasings, ``parse`` back to facts, ``CHALLENGE_PROMPTS``.
* ``cache``: pools kept on disk, so a training run starts at once the second time.

Scene ``i`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``, so it is the same
whatever batch it is drawn in, and a big pool is drawn in pieces by several processes at once.

    >>> x, labels = batch(16, seed=0)     # x: (16, 3, 32, 32) float32 in [-1, 1]
    >>> caption(labels[0])
    >>> x, labels = sample_for("the pup sitting in a rocket flying near the moon", 8)
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import torch
from tqdm.auto import tqdm

from ..images import quantize
from ..pools import ImagePool
from . import cache
from .drawing import FLAME, MOON, PUP_BLUE, SUPERSAMPLE, WINDOW, layers, render
from .labels import (
    DESCRIPTION,
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
    describe,
    facts,
    sample_labels,
)
from .words import CHALLENGE_PROMPTS, VOCABULARY, caption, loose, parse, phrasings, plain, satisfies

__all__ = [
    "CHALLENGE_PROMPTS",
    "DESCRIPTION",
    "FACTS",
    "FLAME",
    "HELD_OUT_SEED",
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
    "check_images",
    "describe",
    "draw_pool",
    "facts",
    "layers",
    "loose",
    "parse",
    "phrasings",
    "plain",
    "render",
    "sample_for",
    "sample_labels",
    "satisfies",
    "scene",
    "scenes_per_second",
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


HELD_OUT_SEED = 200  # held-out real scenes: never used to train a denoiser or the judge; the metrics' reference


def check_images(x: torch.Tensor, size: int = SIZE) -> None:
    """Refuse what is not a batch of scene-sized images in [-1, 1], saying what was expected."""
    if not torch.is_tensor(x) or x.ndim != 4 or tuple(x.shape[1:]) != (3, size, size):
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"expected float images of shape (B, 3, {size}, {size}) in [-1, 1], got shape {shape}")
    if len(x) and (not x.is_floating_point() or x.min() < -1.001 or x.max() > 1.001):
        lo, hi = x.min().item(), x.max().item()
        raise ValueError(f"expected float images of shape (B, 3, {size}, {size}) in [-1, 1], got {x.dtype} in "
                         f"[{lo:.3g}, {hi:.3g}]; images in [0, 1] are turned into [-1, 1] by x * 2 - 1")


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


CHUNK = 256  # scenes per piece of work (and per step of the progress bar)
PARALLEL_FROM = 2048  # smaller pools are drawn in this process: starting workers would cost more than it saves
MAX_WORKERS = 8


def _draw_chunk(seed: int, start: int, n: int, size: int, world: int) -> tuple[np.ndarray, list[SceneLabels]]:
    x, labels = batch(n, seed, start, size, world)
    return quantize(x).numpy(), labels  # (n, 3, size, size) uint8


def _workers(n: int) -> int:
    """How many processes draw a pool of ``n``: one per core for a big pool on Linux (workers are forked, so
    they start at once), else one; one inside a daemon process (a DataLoader worker), which may not fork."""
    if n < PARALLEL_FROM or sys.platform != "linux" or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def _chunks(jobs: list[tuple], workers: int):
    """Each job's ``_draw_chunk``, in order: by ``workers`` forked processes, or here. A pool of processes that
    breaks (a worker killed, no memory to fork) leaves the rest to this process, with a warning."""
    done, workers = 0, min(workers, len(jobs))
    if workers > 1:
        executor = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"),
                                       initializer=torch.set_num_threads, initargs=(1,))
        try:
            for part in executor.map(_draw_chunk, *zip(*jobs)):
                done += 1
                yield part
            return
        except (BrokenProcessPool, OSError) as e:
            warnings.warn(f"drawing scenes in {workers} processes failed ({e}); drawing the rest in this one",
                          stacklevel=3)
        finally:
            executor.shutdown(cancel_futures=True)
    for job in jobs[done:]:
        yield _draw_chunk(*job)


def draw_pool(n: int, seed: int = 0, size: int = SIZE, world: int = WORLD, progress: bool = False,
              workers: int | None = None) -> tuple[torch.Tensor, list[SceneLabels]]:
    """Scenes ``0 .. n - 1`` of ``seed`` as uint8 images (n, 3, size, size) and their labels: exactly
    ``quantize(batch(n, seed, ...)[0])``, drawn in pieces of ``CHUNK`` by ``workers`` processes (default: one
    per core for a big pool on Linux)."""
    if n < 0 or size < 16:
        raise ValueError(f"draw_pool needs n >= 0 and size >= 16, got n={n}, size={size}")
    jobs = [(seed, start, min(CHUNK, n - start), size, world) for start in range(0, n, CHUNK)]
    images, labels = [np.empty((0, 3, size, size), np.uint8)], []
    with tqdm(total=n, desc="drawing scenes", unit="scene", disable=not progress) as bar:
        for x, lab in _chunks(jobs, _workers(n) if workers is None else workers):
            images.append(x)
            labels += lab
            bar.update(len(lab))
    return torch.from_numpy(np.concatenate(images)), labels


def scenes_per_second(n: int = 1024, size: int = SIZE, world: int = WORLD, workers: int = 1) -> float:
    """How fast this machine draws scenes into a pool: ``n`` scenes of seed 0 by ``workers`` processes
    (the disk cache is not involved)."""
    begin = time.perf_counter()
    draw_pool(n, 0, size, world, workers=workers)
    return n / (time.perf_counter() - begin)


class ScenePool(ImagePool):
    """A fixed pool of scenes held in memory as uint8 (4x smaller than float): scenes ``0 .. n - 1`` of
    ``seed``, with their ``labels``.

    Training draws from a pool because drawing a scene costs about as much as a small model's training step
    on a CPU. A big pool is drawn by every core at once, and kept on disk (``cache``), so the next run with
    the same pool reads it back instead of drawing it.
    """

    def __init__(self, n: int, seed: int = 0, size: int = SIZE, progress: bool = False, world: int = WORLD):
        kept = cache.load(n, seed, size, world)
        if kept is None:
            kept = draw_pool(n, seed, size, world, progress)
            cache.save(*kept, seed, size, world)
        images, self.labels = kept
        super().__init__(images)
