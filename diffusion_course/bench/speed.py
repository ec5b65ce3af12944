"""The benchmark's speed measurements: a matmul peak, a training step, DDIM sampling, annotated sampling against
plain, and classifier-free guidance against an unguided sample.

Machines differ, so every speed is also given as a fraction of a matmul peak measured in the same run (the
figure that travels). FLOPs and seconds come from ``diffusion.cost`` (torch's ``FlopCounterMode``; the fastest of
several repetitions, or repetitions in turn where two timings are compared as a ratio).
"""
from __future__ import annotations

import dataclasses

import torch

from .. import scenes
from ..config import PRESETS, TRAIN_PRESETS, TrainConfig
from ..diffusion import checkpoints, guidance
from ..diffusion.cost import alternate, count_flops, fastest, forward_flops
from ..diffusion.samplers import sample
from ..diffusion.training import Trainer
from ..looking.trace import MB, annotate
from ..pools import LatentPool
from ..sketchbook import latent
from ..words import clip


def matmul_peak(dtype: torch.dtype = torch.float32, n: int = 1024, reps: int = 5) -> float:
    """Achieved GFLOP/s of an n x n matmul (2 n^3 FLOPs), best of ``reps``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    t = fastest(lambda: a @ b, reps, warmup=2)
    return 2 * n ** 3 / t / 1e9


def bench_training(preset: str, batch: int, steps: int, precision: str) -> dict:
    """One training step of ``preset``'s own recipe at ``batch`` and ``precision``: FLOPs, and the fastest of
    ``steps``. A latent model trains on scenes encoded once into its sketchbook, as its training run does."""
    pool = scenes.ScenePool(max(256, batch), seed=0)
    if getattr(PRESETS[preset], "autoencoder", ""):
        pool = LatentPool(pool, checkpoints.autoencoder_of(PRESETS[preset]), progress=False)
    recipe = dataclasses.replace(TRAIN_PRESETS.get(preset, TrainConfig()), batch_size=batch, precision=precision,
                                 init_from="")
    tr = Trainer(preset, recipe, pool=pool, progress=False)
    flops = count_flops(tr.train_step)  # forward + backward of one step
    t = fastest(tr.train_step, steps, warmup=1)
    return {"preset": preset, "batch": batch, "precision": str(tr.autocast_dtype or "fp32"),
            "seconds_per_step": t, "steps_per_second": 1 / t, "gflop_per_step": flops / 1e9,
            "gflops": flops / t / 1e9}


def bench_sampling(model, n: int, steps: int, reps: int) -> dict:
    """DDIM-``steps`` of ``n`` pictures (a latent model's painted by its decoder, which the time includes): the
    fastest of ``reps``, and the FLOPs of a forward pass of the denoiser on the batch."""
    model = model.cpu().eval()
    flops_forward = forward_flops(model, n)
    t = fastest(lambda: latent.draw(model, n, steps=steps, seed=0), reps, warmup=1)
    return {"images": n, "steps": steps, "seconds": t, "gflop_per_forward": flops_forward / 1e9,  # the whole batch
            "gflops": flops_forward * steps / t / 1e9}


def bench_annotation(model, n: int, steps: int, reps: int) -> dict:
    """Annotated vs plain sampling, timed alternately in one run, and what the trace holds."""
    model = model.cpu().eval()
    best = alternate({"plain": lambda: sample(model, n, steps=steps, seed=0),
                      "annotated": lambda: annotate(model, n, steps, seed=0)}, reps)
    trace = annotate(model, n, steps, seed=0)
    return {"images": n, "steps": steps, "taps": model.default_taps(), "recorded_steps": len(trace),
            "plain_seconds": best["plain"], "annotated_seconds": best["annotated"],
            "time_ratio": best["annotated"] / best["plain"], "trace_mb": trace.nbytes / MB}


def bench_cfg_cost(model, words, n: int, steps: int, reps: int) -> dict:
    """A classifier-free guided sample (one batched pass on 2n images per step) vs a plain conditional one,
    timed alternately in one run."""
    p = clip.prompt(*words, scenes.CHALLENGE_PROMPTS[0])
    best = alternate({"plain": lambda: sample(model, n, steps=steps, seed=0, prompt=p),
                      "cfg": lambda: sample(model, n, steps=steps, seed=0, prompt=p,
                                            guide=guidance.ClassifierFree(3.0))}, reps)
    return {"images": n, "steps": steps, "plain_seconds": best["plain"], "cfg_seconds": best["cfg"],
            "ratio": best["cfg"] / best["plain"]}
