"""Fewer steps: the judge's recognisable rate against the number of model evaluations for each sampler
(DDPM, DDIM with and without fresh noise, DPM-Solver++(2M)), bf16 inference, and the wall time of the
sampler that does best in 10 steps against DDIM-50 (``bench --only stepping``; notebook 02 reads it).

Goal (``bench.goals.GOALS``): at most 10 model evaluations at >= 95 % of DDIM-50's recognisable rate (the course's
default sampler: DDIM, eta 1), its wall time against DDIM-50 timed alternately in the same run. Which sampler
does best in 10 steps is measured, not assumed: on our small U-Net the deterministic ones (DDIM with eta 0,
and DPM-Solver++, a better solver of the same deterministic path) trail the ones that add fresh noise.
"""
from __future__ import annotations

import torch

from ..diffusion import checkpoints
from ..diffusion.cost import alternate
from ..diffusion.samplers import ETA, sample_many
from ..judging import metrics
from ..precision import resolve_precision

RUNS = {  # name -> the sampler's arguments (DDIM with eta 1 is DDPM's update with steps skipped: first on a tie)
    "DDIM, eta 1": {"sampler": "ddim", "eta": ETA},
    "DDPM": {"sampler": "ddpm"},
    "DDIM, eta 0": {"sampler": "ddim", "eta": 0.0},
    "DPM-Solver++(2M)": {"sampler": "dpm++2m"},
}
BASELINE = ("DDIM, eta 1", 50)  # the course's default: what fewer steps must keep up with
FAST_STEPS = 10  # the goal's budget: 5x fewer model evaluations; the sampler that does best with it is timed
SHARE = 0.95  # of the baseline's recognisable rate


def draw(model, n: int, run: str, steps: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``n`` drawings of ``model`` with sampler ``run`` in ``steps`` steps (seed 0), under bf16 autocast
    when ``dtype`` is given."""
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        return sample_many(model, n, steps=steps, seed=0, **RUNS[run]).float()


def measure(judge, model_name: str = "unet-scenes", n: int = 128, steps: tuple[int, ...] = (5, 10, 20, 50),
            timed_images: int = 16, reps: int = 3) -> dict:
    """The curves, the goal's figures and bf16 inference (see the module docstring)."""
    model = checkpoints.load_pretrained(model_name, "cpu")
    steps = tuple(sorted(set(steps) | {BASELINE[1], FAST_STEPS}))  # (the goal's two points are always drawn)
    curves = {run: {str(k): metrics.recognisable_rate(judge, draw(model, n, run, k)) for k in steps} for run in RUNS}
    best = (max(RUNS, key=lambda run: curves[run][str(FAST_STEPS)]), FAST_STEPS)  # the best with that budget
    base, fast = curves[BASELINE[0]][str(BASELINE[1])], curves[best[0]][str(best[1])]
    times = alternate({f"{run} {k}": (lambda run=run, k=k: draw(model, timed_images, run, k))
                       for run, k in (BASELINE, best)}, reps + 1)  # (the first of reps + 1 rounds warms up, and counts)
    # bf16 inference where the machine does bf16 natively (``precision.resolve_precision``'s rule)
    bf16 = resolve_precision("auto", torch.device("cpu"))
    out = {"model": model_name, "images": n, "steps": list(steps), "curves": curves,
           "baseline": {"run": BASELINE[0], "steps": BASELINE[1], "recognisable": base},
           "fast": {"run": best[0], "steps": best[1], "recognisable": fast},
           "fast_share_of_baseline": fast / base if base else 0.0,
           "timed_images": timed_images, "seconds": {"baseline": times[f"{BASELINE[0]} {BASELINE[1]}"],
                                                     "fast": times[f"{best[0]} {best[1]}"]},
           "fast_model_evaluations": best[1], "share_goal": SHARE}
    out["time_ratio_fast_to_baseline"] = out["seconds"]["fast"] / out["seconds"]["baseline"]
    out["fast_keeps_quality"] = out["fast_share_of_baseline"] >= SHARE
    if bf16 is None:
        out["bf16"] = {"skipped": "this CPU has no native bf16 (AVX512-BF16 or AMX): bf16 inference would be slower"}
    else:
        rate = metrics.recognisable_rate(judge, draw(model, n, best[0], best[1], bf16))
        t = alternate({"fp32": lambda: draw(model, timed_images, *best),
                       "bf16": lambda: draw(model, timed_images, *best, bf16)}, reps + 1)
        out["bf16"] = {"recognisable": rate, "points_below_fp32": 100 * (fast - rate),
                       "seconds": t["bf16"], "fp32_seconds": t["fp32"], "time_ratio": t["bf16"] / t["fp32"],
                       "within_1_point": abs(100 * (fast - rate)) <= 1.0}
    return out
