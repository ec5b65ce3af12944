"""Time to quality: how good a denoiser is after a fixed amount of training *compute* (``bench --only budgets``).

Machines disagree about seconds (bf16 matmuls are fast on one CPU and 150x slow on another) but agree about
FLOPs, so the budgets are in TFLOP of training: one step's forward and backward pass, counted by torch's
``FlopCounterMode`` (``diffusion.cost.step_flops``), times the steps taken. The wall time on the measuring
machine is written beside each point, and so is the time it took to have the training pool ready before the
first step (a live run waits for it too): drawn, or read back from the disk cache where an earlier run kept it
(``bench --only drawing`` times both).

Each preset trains from scratch with its own recipe (``config.TRAIN_PRESETS``), on scene world ``WORLD`` (1: the
relation-free world of notebooks 02-05 and of the shipped teams), and the judge reads its EMA each time the
compute spent crosses a budget. A recipe longer than the largest budget is cut there; its learning rate is then
still high (its cosine decay is sized for the whole recipe), as it was at the same step of the shipped run.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

from .. import config, scenes
from ..config import TrainConfig
from ..diffusion import checkpoints
from ..diffusion.cost import step_flops
from ..diffusion.training import Trainer
from ..judging import metrics
from ..pools import LatentPool
from ..sketchbook import latent

BUDGETS = (3.0, 6.0, 12.0, 25.0, 50.0, 100.0)  # TFLOP of training
WORLD = 1  # the scene world the curves are trained on (see the module docstring)
TARGET = 0.9  # the recognisable rate the goals ask for


def steps_for(tflop: float, flops_per_step: float) -> int:
    """The steps that spend ``tflop`` TFLOP of training (the first step at which the budget is spent)."""
    if tflop <= 0 or flops_per_step <= 0:
        raise ValueError(f"a budget and a step's FLOPs must be > 0, got {tflop} TFLOP and {flops_per_step} FLOPs")
    return math.ceil(tflop * 1e12 / flops_per_step)


def curve(model_config, cfg: TrainConfig, judge, budgets: tuple[float, ...] = BUDGETS,
          probe_images: int = metrics.PROBE_IMAGES, probe_steps: int = 50, progress: bool = False,
          world: int = WORLD) -> dict:
    """Train ``model_config`` (a config or a preset name) from scratch with recipe ``cfg`` on scenes of ``world``,
    reading its EMA with ``metrics.probe`` at every budget the recipe reaches (and at the recipe's end, when that
    comes first). A latent model (its config names an autoencoder) trains on the scenes' latents, encoded before
    the first step (counted in the pool's seconds), and is read through the decoder.

    Returns the step's FLOPs, the seconds until the pool was ready and one point per reading: ``budget`` (the budget
    just crossed or, for a recipe that ended first, the next one it did not reach), ``tflop`` (spent: a little over
    a budget's round number where the budget is crossed, less where the recipe ended first), ``step``,
    ``train_seconds`` (training only), and the probe's figures."""
    model_config = config.preset(model_config) if isinstance(model_config, str) else model_config
    spent = spending(model_config, cfg)
    crossing = {b: first_step(spent, b) for b in budgets}  # the step at which each budget is spent
    last = min(cfg.steps, max(crossing.values()))
    stops = sorted({s for s in crossing.values() if s < last} | {last})
    t0 = time.perf_counter()
    pool, draw = scenes.ScenePool(cfg.pool_size, seed=cfg.seed, world=world), None
    if getattr(model_config, "autoencoder", ""):
        ae = checkpoints.autoencoder_of(model_config)
        pool, draw = LatentPool(pool, ae), latent.drawer(ae)
    pool_seconds = time.perf_counter() - t0
    trainer = Trainer(model_config, cfg, pool=pool, progress=progress)
    probe = metrics.probe(judge, n=probe_images, steps=probe_steps, draw=draw)
    points = []
    for stop in stops:
        trainer.run(stop)
        within = min(b for b, s in crossing.items() if s >= stop)  # (every stop is at or before the last crossing)
        points.append({"budget": within, "step": stop, "tflop": spent(stop) / 1e12,
                       "train_seconds": trainer.elapsed, **probe(trainer.ema)})
    return {"world": world, "batch": cfg.batch_size, "recipe_steps": cfg.steps, "lr": cfg.lr,
            "precision": str(trainer.autocast_dtype or "fp32"), "gflop_per_step": spent(1) / 1e9,
            "parameters": trainer.model.num_params(), "pool_scenes": cfg.pool_size, "pool_seconds": pool_seconds,
            "points": points}


def spending(model_config, cfg: TrainConfig) -> Callable[[int], float]:
    """``spent(n)``: the training FLOPs of the first ``n`` steps of ``cfg``. A masked step (``cfg.mask_ratio``) costs
    about half of one of the unmasked tail that may end the recipe (from step ``cfg.mask_until``)."""
    per_step = step_flops(model_config, cfg)
    if not (cfg.mask_ratio and cfg.mask_until):
        return lambda n: n * per_step
    tail = step_flops(model_config, dataclasses.replace(cfg, mask_ratio=0.0))
    return lambda n: per_step * min(n, cfg.mask_until) + tail * max(0, n - cfg.mask_until)


def first_step(spent: Callable[[int], float], tflop: float) -> int:
    """The first step at which ``spent(step)`` reaches ``tflop`` TFLOP (``spent`` grows with the steps)."""
    if tflop <= 0 or spent(1) <= 0:
        raise ValueError(f"a budget and a step's FLOPs must be > 0, got {tflop} TFLOP and {spent(1)} FLOPs")
    lo, hi = 1, 1
    while spent(hi) < tflop * 1e12:
        lo, hi = hi + 1, 2 * hi
    while lo < hi:  # the first step in [lo, hi] that spends the budget
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if spent(mid) < tflop * 1e12 else (lo, mid)
    return lo


def sized(cfg: TrainConfig, flops_per_step: float, tflop: float) -> TrainConfig:
    """``cfg`` with as many steps as spend ``tflop`` TFLOP (its cosine decay then ends there) and a warm-up of at
    most a tenth of them."""
    steps = steps_for(tflop, flops_per_step)
    return dataclasses.replace(cfg, steps=steps, warmup=min(cfg.warmup, steps // 10))


def first_reaching(points: list[dict], rate: float = TARGET) -> dict | None:
    """The first point of a curve whose recognisable rate is at least ``rate`` (None: never)."""
    return next((p for p in points if p["recognisable_rate"] >= rate), None)


def goals(curves: dict[str, dict], unet: str, dit: str, rate: float = TARGET) -> dict:
    """The goals' figures from the curves of a U-Net and a DiT: the TFLOP each spent to reach ``rate``
    recognisable (None: not within its curve), and the DiT's rate minus the U-Net's, in points, at the budget
    where that is smallest, among the budgets both curves were read at (None: none in common)."""
    def spent(name):
        hit = first_reaching(curves[name]["points"], rate) if name in curves else None
        return hit["tflop"] if hit else None

    def at(name):  # (a recipe that ended before a budget spent less: it is not compared there)
        return {p["budget"]: p["recognisable_rate"] for p in curves.get(name, {"points": []})["points"]
                if p["tflop"] >= p["budget"]}

    u, d = at(unet), at(dit)
    gaps = {b: 100 * (d[b] - u[b]) for b in u.keys() & d.keys()}
    worst = min(gaps, key=gaps.get, default=None)
    return {"unet": unet, "dit": dit, "target": rate, "unet_tflop_to_target": spent(unet),
            "dit_tflop_to_target": spent(dit), "dit_minus_unet_points": gaps.get(worst), "worst_budget": worst}
