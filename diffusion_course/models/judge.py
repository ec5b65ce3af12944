"""The scene judge's network: conv features (B, 4w) and four heads.

Heads: ``presence`` (pup, rocket, moon: 3 logits), ``colour`` (rocket colour: 6),
``phase`` (full / crescent: 2) and ``real`` (is this a clean scene at all: 1).
Its training lives in ``judging``, the metrics built on it in ``metrics``.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import scenes
from ..config import JudgeConfig

COLOURS = tuple(scenes.ROCKET_COLOURS)
PHASES = scenes.MOON_PHASES


class Judge(nn.Module):
    def __init__(self, config: JudgeConfig = JudgeConfig()):
        super().__init__()
        self.config = config
        w = config.width

        def block(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU(),
                                 nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU())

        self.body = nn.Sequential(block(3, w), nn.AvgPool2d(2), block(w, 2 * w), nn.AvgPool2d(2),
                                  block(2 * w, 4 * w), nn.AvgPool2d(2), block(4 * w, 4 * w))
        self.heads = nn.ModuleDict({"presence": nn.Linear(4 * w, len(scenes.OBJECTS)),
                                    "colour": nn.Linear(4 * w, len(COLOURS)),
                                    "phase": nn.Linear(4 * w, len(PHASES)),
                                    "real": nn.Linear(4 * w, 1)})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 32, 32) in [-1, 1] -> (B, 4w) pooled features (the space Frechet distances use)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"the judge takes images (B, 3, H, W) in [-1, 1], got shape {tuple(x.shape)}")
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each head's logits, and the ``features`` they were read from (one pass through the body)."""
        f = self.features(x)
        return {k: head(f) for k, head in self.heads.items()} | {"features": f}
