"""What a step costs, in FLOPs and in seconds: the one home of both counts, for the lessons and for ``bench``.

FLOPs are counted by torch's ``FlopCounterMode`` (matmuls, attention and convolutions, forward and backward), so
they agree across machines; it counts nothing under ``torch.inference_mode``, so a forward pass is counted under
``no_grad``. A step's seconds are the fastest of several timed calls after a warm-up (the one least disturbed by
a noisy machine: the minimum, not the mean, as ``timeit`` advises), by the wall clock (``time.perf_counter``) on
the CPU, where every call has finished when it returns. ``alternate`` times several calls in turn, so a drift in
the machine's speed hits every one of them alike: use it where two timings are compared as a ratio.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .. import scenes
from ..config import TrainConfig
from ..pools import ImagePool, LatentPool
from . import checkpoints
from .training import Trainer


def count_flops(fn: Callable[[], object]) -> int:
    """The FLOPs of one call of ``fn`` (matmuls, attention and convolutions, forward and backward), counted by torch.
    (``FlopCounterMode`` counts nothing under ``torch.inference_mode``: use ``no_grad``.)"""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def forward_flops(model, batch: int = 1) -> int:
    """FLOPs of one forward pass of a denoiser on ``batch`` inputs of its own shape (one denoising step)."""
    cfg = model.config
    x = torch.zeros(batch, cfg.in_channels, cfg.image_size, cfg.image_size)
    with torch.no_grad():
        return count_flops(lambda: model(x, torch.zeros(batch, dtype=torch.long)))


def step_flops(model_config, cfg: TrainConfig, pool: scenes.ScenePool | None = None) -> float:
    """The FLOPs of one training step (forward and backward) of ``model_config`` at ``cfg``'s batch, counted on a
    throwaway trainer (a step changes the trainer it runs on) drawing from ``pool`` (default: a batch of scenes of
    scene world 1, or for a latent model a batch of black pictures and their latents, which alignment reads
    beside them: what the pictures show does not change the count, and the latents are encoded once before
    training, not at every step). With masking (``cfg.mask_ratio``, ``masking``) it counts a masked step, as the
    first one is: a step of an unmasked tail (``cfg.mask_until``) costs about twice as much at mask_ratio 0.5."""
    if pool is None and getattr(model_config, "autoencoder", ""):
        ae = checkpoints.autoencoder_of(model_config)
        s = ae.config.image_size
        pool = LatentPool(ImagePool(torch.zeros(cfg.batch_size, 3, s, s, dtype=torch.uint8)), ae)
    pool = pool if pool is not None else scenes.ScenePool(cfg.batch_size, seed=cfg.seed, world=1)
    return float(count_flops(Trainer(model_config, cfg, pool=pool, progress=False).train_step))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """One call of ``fn``: its wall-clock seconds and what it returned."""
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def fastest(fn: Callable[[], object], reps: int, warmup: int = 1) -> float:
    """The fastest of ``reps`` timed calls of ``fn`` (seconds), after ``warmup`` untimed ones (the first call
    pays for allocations)."""
    for _ in range(warmup):
        fn()
    return min(timed(fn)[0] for _ in range(reps))


def alternate(calls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """The fastest of ``reps`` timed calls of each entry of ``calls`` (seconds), called in turn round after round
    (so a drift in the machine's speed hits every one alike); no warm-up: the first round counts."""
    best = dict.fromkeys(calls, math.inf)
    for _ in range(reps):
        for name, fn in calls.items():
            best[name] = min(best[name], timed(fn)[0])
    return best
