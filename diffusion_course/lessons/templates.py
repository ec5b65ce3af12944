"""Told what to draw, with and without dust (notebook 06, experiment 1).

Two models of the same backbone (the live U-Net) are told a scene description (``scenes.describe``: which
objects, the rocket's colour, the moon's phase, every relation) and trained for the same steps:

* the **template** (``models/template.py``) draws the description straight away, trained with a pixel loss;
  asked the same thing 16 times it draws the same picture 16 times, and that picture is the average of every
  scene that fits, a blur;
* the **described diffusion model** (``unet-labels``) learns to remove dust, told the description; asked
  16 times it starts from 16 different dusts and draws 16 different scenes that fit.

    >>> said = describe("the pup sitting in a red rocket flying near the moon")
    >>> draw(load_pretrained("template-labels"), said, 16)   # one picture, 16 times
    >>> draw(load_pretrained("unet-labels"), said, 16)        # 16 different scenes

``TemplateTrainer`` is the denoisers' ``Trainer`` (pool, descriptions, EMA, checkpoints, resuming) with the
pixel loss in place of the denoising one. The described model is trained by ``Trainer`` itself.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import scenes
from ..diffusion.samplers import sample, sample_many
from ..diffusion.training import Trainer
from ..judging.metrics import reference_scenes
from ..models import Template
from ..models.base import evaluating

BATCH = 64  # pictures drawn at once when each has its own description


def describe(said: str | dict | np.ndarray | torch.Tensor) -> torch.Tensor:
    """A description as the models read it, (1, len(scenes.DESCRIPTION)): from a sentence in the scene grammar
    (``scenes.parse``), a facts dict (``scenes.facts``) or a vector already made."""
    if isinstance(said, str):
        said = scenes.parse(said)
    if isinstance(said, dict):
        said = scenes.describe(said)
    v = torch.as_tensor(said, dtype=torch.float32)
    v = v[None] if v.ndim == 1 else v
    if v.ndim != 2 or v.shape[1] != len(scenes.DESCRIPTION):
        raise ValueError(f"a description has {len(scenes.DESCRIPTION)} numbers (scenes.DESCRIPTION), got shape "
                         f"{tuple(v.shape)}; make one with describe('a sentence') or scenes.describe(facts)")
    return v


def draw(model, said, n: int = 16, seed: int = 0, steps: int = 50, **kwargs) -> torch.Tensor:
    """``n`` pictures of one description (or of one per row, (n, D)) by a template or by a described diffusion
    model (DDIM-``steps`` from ``seed``; the template needs neither). (n, 3, H, W) in [-1, 1]."""
    cond = describe(said).to(next(model.parameters()).device)
    if len(cond) not in (1, n):
        raise ValueError(f"{len(cond)} descriptions for {n} pictures: give one for all, or one per picture")
    if isinstance(model, Template):
        with evaluating(model), torch.no_grad():
            return model(cond.expand(n, -1)).clamp(-1, 1).cpu()
    if not getattr(model, "described", False):
        raise ValueError(f"{type(model).__name__} is not told descriptions: use unet-labels or template-labels")
    if len(cond) == 1:
        return sample_many(model, n, steps=steps, seed=seed, cond=cond, **kwargs)
    return torch.cat([sample(model, len(c), steps=steps, seed=seed + i, cond=c, **kwargs)
                      for i, c in zip(range(0, n, BATCH), cond.split(BATCH))])


def drawer():
    """``draw(model, n, steps, seed) -> images`` for ``metrics.probe``: each picture told the description of
    one held-out scene, so that what is asked is as varied as the world (those descriptions are made once per
    ``n``, not at every probe)."""
    told: dict[int, np.ndarray] = {}

    def draw_told(model, n: int, steps: int, seed: int) -> torch.Tensor:
        if n not in told:
            told[n] = np.stack([scenes.describe(scenes.facts(lab)) for lab in reference_scenes(n)[1]])
        return draw(model, told[n], n, seed=seed, steps=steps)
    return draw_told


class TemplateTrainer(Trainer):
    """Trains a template: the ``Trainer``'s loop with the pixel loss || x_0 - f(description) ||^2 in place of
    the denoising loss. (The step, noise and masking it is handed are drawn as for a denoiser, and not used.)"""

    def loss_at(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, prompt=None, cond=None,
                keep=None) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.bfloat16,
                            enabled=self.autocast_dtype is not None):
            x = self.net(cond)
        return F.mse_loss(x.float(), x0)


def trainer_for(model_config) -> type[Trainer]:
    """The trainer of a model config: ``TemplateTrainer`` for a template, ``Trainer`` for a denoiser."""
    return TemplateTrainer if getattr(model_config, "kind", "") == "template" else Trainer
