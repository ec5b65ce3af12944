"""No dust: a model that draws a scene description straight away (notebook 06's template).

The same U-Net as Team CNN's live model, but it is never shown dust: it starts from a blank page (zeros, at
step 0) and is told only the description (``scenes.describe``). Trained with a pixel loss,
``|| x_0 - f(description) ||^2``, the best it can do is the *average* of every scene that fits the
description (the minimiser of a squared error is the mean): one blurry template, the same every time it is
asked. A diffusion model told the same description starts from fresh dust each time, and that dust is
what picks *which* of the fitting scenes it draws.
"""
from __future__ import annotations

import dataclasses

import torch

from ..config import TemplateConfig, UNetConfig
from .base import Denoiser
from .unet import UNet


class Template(Denoiser):
    """``template(description) -> picture``: (B, cond_dim) -> (B, C, H, W), deterministic. Its taps are the
    U-Net's (``net.*``). Not a denoiser, though built like one: a sampler has nothing to do with it."""

    def __init__(self, config: TemplateConfig = TemplateConfig()):
        super().__init__()
        if not config.cond_dim:
            raise ValueError("a template draws from a description: give it cond_dim = len(scenes.DESCRIPTION)")
        self.config = config
        backbone = {f.name: getattr(config, f.name) for f in dataclasses.fields(UNetConfig) if f.name != "kind"}
        self.net = UNet(UNetConfig(**backbone))

    def forward(self, cond: torch.Tensor, **_) -> torch.Tensor:
        """The picture for each description (B, cond_dim); the zero vector says nothing."""
        cfg = self.config
        if cond.ndim != 2 or cond.shape[1] != cfg.cond_dim:
            raise ValueError(f"a template reads descriptions of shape (B, {cfg.cond_dim}) (scenes.describe), "
                             f"got {tuple(cond.shape)}")
        page = torch.zeros(len(cond), cfg.in_channels, cfg.image_size, cfg.image_size, device=cond.device)
        return self.net(page, torch.zeros(len(cond), dtype=torch.long, device=cond.device), cond=cond)
