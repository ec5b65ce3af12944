"""The scene judge's network: conv features and the heads that read a scene.

Pooled heads (from the (B, 4w) mean of the last features): ``presence`` (pup, rocket, moon: 3 logits),
``colour`` (rocket colour: 6), ``phase`` (full / crescent: 2) and ``real`` (is this a clean scene at
all: 1). Spatial heads (from the flattened (B, 4w, 4, 4) map, which keeps *where*): ``relations``
(one logit per ``scenes.RELATIONS``) and ``geometry`` (where each object is and how big: ``GEOMETRY``,
in units of ``GEOMETRY_UNIT`` pixels), which is what the re-drawing (``redraw.py``) paints from.
Its training lives in ``judging``, the metrics built on it in ``metrics``.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import scenes
from ..config import JudgeConfig

COLOURS = tuple(scenes.ROCKET_COLOURS)
PHASES = scenes.MOON_PHASES
# What the geometry head predicts, per object: centre, size, the rocket's tilt (in TILT_UNIT) and the
# direction of a crescent's dark side (cos, sin).
GEOMETRY = ("pup_x", "pup_y", "pup_r", "rocket_x", "rocket_y", "rocket_length", "rocket_tilt",
            "moon_x", "moon_y", "moon_r", "moon_cos", "moon_sin")
GEOMETRY_UNIT = 4.0  # pixels per unit of the geometry head's positions and sizes
TILT_UNIT = 10.0  # degrees per unit of the rocket's tilt


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
        side = config.image_size // 8
        self.spatial = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * side * side, config.spatial_width), nn.SiLU())
        self.spatial_heads = nn.ModuleDict({"relations": nn.Linear(config.spatial_width, len(scenes.RELATIONS)),
                                            "geometry": nn.Linear(config.spatial_width, len(GEOMETRY))})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each head's logits, and the pooled ``features`` (the space Frechet distances use)."""
        s = self.config.image_size
        if x.ndim != 4 or x.shape[1:] != (3, s, s):
            raise ValueError(f"the judge takes images (B, 3, {s}, {s}) in [-1, 1], got shape {tuple(x.shape)}")
        h = self.body(x)  # (B, 4w, s/8, s/8)
        f = h.mean(dim=(2, 3))
        g = self.spatial(h)
        return ({k: head(f) for k, head in self.heads.items()} | {k: head(g) for k, head in self.spatial_heads.items()}
                | {"features": f})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, s, s) in [-1, 1] -> (B, 4w) pooled features."""
        return self(x)["features"]
