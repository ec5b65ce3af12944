"""Notebook 02's live run: a small U-Net in the latent sketchbook (``latent-unet-live``), trained for its recipe's
steps with the learner's own loss, and the same run measured for ``bench --only live``.

Why the sketchbook: on two CPU cores a pixel U-Net trained for the minute or two a class can wait draws colour blobs
(notebook 02's pixel run of 300 steps read 0 % recognisable). The shipped autoencoder turns each 32 x 32 picture into
8 x 8 x 4 numbers; a denoising step there costs a fraction of a pixel one, and the same minute buys thousands of
steps. The learner's loss is the same code either way: it dusts whatever ``x0`` it is handed (notebook 09 opens the
sketchbook). Both the notebook and the bench call ``train``, so the bench measures exactly what the notebook runs.
"""
from __future__ import annotations

import time

from ..config import TRAIN_PRESETS
from ..diffusion.training import Trainer
from ..judging import metrics
from ..sketchbook import latent

PRESET = "latent-unet-live"
RECIPE = TRAIN_PRESETS[PRESET]
DRAWINGS, STEPS, SEED = 64, 50, 0  # what the notebook draws and judges: 64 drawings, DDIM-50, seed 0


def train(loss_fn, steps: int | None = None, progress: bool = True) -> Trainer:
    """Train ``PRESET`` with ``loss_fn(model, x0, generator)`` on ``RECIPE``'s scenes, which the trainer encodes into
    the sketchbook once, up front (``Trainer.draw_pool``); on the CPU, since the learner's loss draws its random
    numbers from a CPU generator. ``trainer.ema`` draws; ``trainer.losses`` holds each step's loss."""
    return Trainer(PRESET, RECIPE, device="cpu", progress=progress, loss_fn=loss_fn).run(steps)


def draw(trainer: Trainer, n: int = DRAWINGS, steps: int = STEPS):
    """The live model's ``n`` drawings as the notebook draws them (DDIM-``steps``, seed ``SEED``), painted."""
    return latent.draw(trainer.ema, n, steps=steps, seed=SEED)


def measure(loss_fn, judge, steps: int | None = None, n: int = DRAWINGS, sampling_steps: int = STEPS) -> dict:
    """The notebook's run (``train``) timed, then its drawings judged: what ``bench --only live`` records."""
    start = time.perf_counter()
    trainer = train(loss_fn, steps, progress=False)
    seconds = time.perf_counter() - start  # the scenes' encoding included, as the notebook's run pays it
    x = draw(trainer, n, sampling_steps)
    return {"preset": PRESET, "steps": trainer.step, "batch": RECIPE.batch_size, "pool": RECIPE.pool_size,
            "precision": str(trainer.autocast_dtype or "fp32"), "train_seconds": seconds, "images": n,
            "sampling_steps": sampling_steps, "recognisable_rate": metrics.recognisable_rate(judge, x),
            "final_loss": sum(trainer.losses[-50:]) / len(trainer.losses[-50:])}
