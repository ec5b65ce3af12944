"""What every denoiser shares: a config, the schedule it was trained for, and named taps.

A denoiser is called as ``model(x_t, t, cond=None) -> eps_hat`` (Ho et al. 2020: the
network predicts the noise eps that was mixed into x_t). Taps are stable names for
the HookPoints inside it; ``trace`` attaches hooks to them.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import schedules


class Denoiser(nn.Module):
    config: object
    _tap_paths: dict[str, str]  # tap name -> submodule path of its HookPoint

    @property
    def schedule(self) -> schedules.Schedule:
        return schedules.get(self.config.schedule, self.config.T)

    def tap_names(self) -> list[str]:
        """Stable names of everything that can be recorded, in forward order."""
        return list(self._tap_paths)

    def tap(self, name: str) -> nn.Module:
        """The HookPoint module behind a tap name."""
        if name not in self._tap_paths:
            raise KeyError(f"{type(self).__name__} has no tap {name!r}; its taps are: {', '.join(self._tap_paths)}")
        return self.get_submodule(self._tap_paths[name])

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
