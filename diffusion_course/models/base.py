"""What every denoiser shares: a config, the schedule it was trained for, and named taps.

A denoiser is called as ``model(x_t, t, cond=None) -> eps_hat`` (Ho et al. 2020: the
network predicts the noise eps that was mixed into x_t). Its taps are the ``HookPoint``
layers inside it, found by walking its own module tree (as TransformerLens finds its hook
points): each has a stable name and a kind ("features", "attention", "tokens"), and
``trace`` attaches hooks to them. No model keeps a hand-written list of its taps.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import schedules
from .layers import HookPoint


class Denoiser(nn.Module):
    config: object
    DEFAULT_TAPS: tuple[str, ...] = ()  # what the annotated sampler records when not told

    @property
    def schedule(self) -> schedules.Schedule:
        return schedules.get(self.config.schedule, self.config.T)

    def taps(self) -> dict[str, HookPoint]:
        """Every tap of the model, by name, in the order the forward pass meets them."""
        return {m.name: m for m in self.modules() if isinstance(m, HookPoint)}

    def tap_names(self) -> list[str]:
        """Stable names of everything that can be recorded, in forward order."""
        return list(self.taps())

    def tap_kinds(self) -> dict[str, str]:
        """Each tap's kind: "features" (B, C, h, w), "attention" (B, heads, N, N) or "tokens" (B, N, D)."""
        return {name: m.kind for name, m in self.taps().items()}

    def tap(self, name: str) -> HookPoint:
        """The HookPoint module behind a tap name."""
        found = self.taps()
        if name not in found:
            raise KeyError(f"{type(self).__name__} has no tap {name!r}; its taps are: {', '.join(found)}")
        return found[name]

    def default_taps(self) -> list[str]:
        """A small, informative set of taps to record when none are named (``DEFAULT_TAPS`` that exist)."""
        names = self.tap_names()
        return [n for n in self.DEFAULT_TAPS if n in names] or names[:4]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def check_input(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        c, s = self.config.in_channels, self.config.image_size
        if x_t.ndim != 4 or x_t.shape[1:] != (c, s, s):
            raise ValueError(f"expected x_t of shape (B, {c}, {s}, {s}), got {tuple(x_t.shape)}")
        t = torch.as_tensor(t, device=x_t.device)
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        if t.shape != (x_t.shape[0],):
            raise ValueError(f"expected one timestep per image, shape ({x_t.shape[0]},), got {tuple(t.shape)}")
        return t
