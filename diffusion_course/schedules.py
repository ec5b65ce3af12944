"""Noise schedules: how fast the dust falls. Pure math, no models.

The forward process (Ho et al. 2020, eq. 4) adds Gaussian noise in T small steps:

    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)

and has a closed form at any step, which is what makes training cheap:

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I),   alpha_bar_t = prod_{s<=t} (1 - beta_s)

so x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps with eps ~ N(0, I).

Two schedules: *linear* betas (Ho et al. 2020) and *cosine* alpha_bar
(Nichol & Dhariwal 2021, eq. 17), which destroys the drawing more gently at first.
Steps are indexed t = 0 .. T-1 (t = 0 is the first, lightest dusting).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

NAMES = ("linear", "cosine")


@dataclass(frozen=True, eq=False)
class Schedule:
    """A discrete noise schedule: ``beta`` (T,), with everything derived from it."""

    name: str
    beta: torch.Tensor  # (T,) float64

    @property
    def T(self) -> int:
        return len(self.beta)

    @property
    def alpha(self) -> torch.Tensor:
        return 1.0 - self.beta

    @property
    def alpha_bar(self) -> torch.Tensor:
        """alpha_bar_t = prod_{s <= t} (1 - beta_s): how much of the drawing is left at t."""
        return torch.cumprod(self.alpha, dim=0)

    @property
    def snr(self) -> torch.Tensor:
        """Signal-to-noise ratio SNR(t) = alpha_bar_t / (1 - alpha_bar_t)."""
        ab = self.alpha_bar
        return ab / (1.0 - ab)

    def check_t(self, t: torch.Tensor | int) -> torch.Tensor:
        t = torch.as_tensor(t)
        if t.dtype.is_floating_point or t.dtype == torch.bool:
            raise TypeError(f"t must hold integer steps 0..{self.T - 1}, got dtype {t.dtype}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.T):
            raise ValueError(f"t must be in 0..{self.T - 1} for this {self.T}-step schedule, "
                             f"got values in {int(t.min())}..{int(t.max())}")
        return t

    def at(self, values: torch.Tensor, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """Gather ``values[t]`` and shape it to broadcast against ``like`` (B, ...)."""
        t = self.check_t(t).to(values.device)
        v = values[t].to(like.dtype).to(like.device)
        if v.ndim == 0:
            return v
        if v.shape[0] != like.shape[0]:
            raise ValueError(f"t has {v.shape[0]} entries but the batch has {like.shape[0]} images; "
                             "pass one t per image or a single int")
        return v.reshape(-1, *([1] * (like.ndim - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps."""
        if noise.shape != x0.shape:
            raise ValueError(f"noise must have the shape of x0: {tuple(noise.shape)} vs {tuple(x0.shape)}")
        ab = self.at(self.alpha_bar, t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def subsequence(self, steps: int) -> list[int]:
        """``steps`` timesteps spread evenly over 0..T-1, from the noisiest down:
        t_k = round(T - k T / steps) - 1 ("trailing" spacing: starts at T-1; all T steps
        give T-1, T-2, ..., 0)."""
        if not 1 <= steps <= self.T:
            raise ValueError(f"steps must be between 1 and {self.T}, got {steps}")
        return [round(self.T - k * self.T / steps) - 1 for k in range(steps)]


def predict_x0(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """Undo the shortcut given the noise (Ho et al. 2020, eq. 15):
    x0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t). ``alpha_bar_t`` broadcasts against x_t."""
    ab = torch.as_tensor(alpha_bar_t)
    return (x_t - (1 - ab).sqrt().to(x_t.dtype) * eps) / ab.sqrt().to(x_t.dtype)


def eps_from_v(x_t: torch.Tensor, v: torch.Tensor, alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """The noise named by a velocity v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x0 (Salimans & Ho 2022):
    eps = sqrt(alpha_bar_t) v + sqrt(1 - alpha_bar_t) x_t. ``alpha_bar_t`` broadcasts against x_t."""
    ab = torch.as_tensor(alpha_bar_t)
    return ab.sqrt().to(x_t.dtype) * v + (1 - ab).sqrt().to(x_t.dtype) * x_t


def linear(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """DDPM's schedule: beta_t rises linearly from beta_start to beta_end
    (values for T = 1000; rescaled for other T so the total dusting is similar)."""
    scale = 1000 / T
    beta = torch.linspace(beta_start * scale, beta_end * scale, T, dtype=torch.float64)
    return Schedule("linear", beta)


def cosine(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal's schedule: alpha_bar(t) = f(t) / f(0),
    f(t) = cos(((t/T + s) / (1 + s)) * pi/2)^2, with beta_t clipped at ``max_beta``."""
    def f(u):
        return torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    u = torch.arange(T + 1, dtype=torch.float64) / T
    ab = f(u) / f(torch.zeros((), dtype=torch.float64))
    beta = (1 - ab[1:] / ab[:-1]).clamp(max=max_beta)
    return Schedule("cosine", beta)


def get(name: str, T: int = 1000) -> Schedule:
    """A schedule by name: ``"linear"`` or ``"cosine"``."""
    if name == "linear":
        return linear(T)
    if name == "cosine":
        return cosine(T)
    raise ValueError(f"unknown schedule {name!r}; choose one of {NAMES}")
