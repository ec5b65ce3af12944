"""Cleaning up the dust: DDPM, DDIM and DPM-Solver++ sampling as generators.

One loop serves every model and every sampler. At each step the denoiser predicts
the noise eps_hat in x_t; from it the clean drawing is estimated (Ho et al. 2020, eq. 15)

    x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t)

and the next, less dusty x_{t'} (t' < t) is drawn by one of three update rules:

* ``ddpm`` — ancestral sampling from the posterior q(x_{t'} | x_t, x0_hat)
  (Ho et al. 2020, eqs. 6-7), with beta_t replaced by 1 - alpha_bar_t / alpha_bar_t'
  when steps are skipped:
      mu = sqrt(alpha_bar_t') beta_t / (1 - alpha_bar_t) x0_hat
           + sqrt(alpha_t) (1 - alpha_bar_t') / (1 - alpha_bar_t) x_t
      sigma^2 = beta_t (1 - alpha_bar_t') / (1 - alpha_bar_t)
* ``ddim`` — Song et al. 2021, eq. 12, with eta in [0, 1]:
      sigma = eta sqrt((1 - alpha_bar_t') / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_t')
      x_t' = sqrt(alpha_bar_t') x0_hat + sqrt(1 - alpha_bar_t' - sigma^2) eps_hat + sigma z
  eta = 0 is deterministic; eta = 1 has DDPM's posterior variance.
* ``dpm++2m`` — DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): a deterministic multistep solver of the
  probability-flow ODE in the data prediction x0_hat, second order from the model calls it already made.
  With alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t), the half-logSNR
  lambda_t = log(alpha_t / sigma_t) and h = lambda_t' - lambda_t:
      x_t' = (sigma_t' / sigma_t) x_t - alpha_t' (exp(-h) - 1) D
  First order, D = x0_hat (the same step as DDIM with eta = 0). Second order, with the x0_hat of the step
  before (at t'' > t, h_last = lambda_t - lambda_t''; r = h_last / h):
      D = (1 + 1 / (2 r)) x0_hat - 1 / (2 r) x0_hat_last
  The first step (and the first after ``start``) has no x0_hat before it: first order. So has the last,
  to t' = -1 (sigma_t' = 0, lambda_t' = inf, exp(-h) = 0): it returns x0_hat. ``eta`` is ignored, as for
  ddpm.

Each step yields a ``StepRecord``; callers keep what they need (``sample`` keeps the end).
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ..models.base import evaluating
from ..schedules import Schedule, predict_x0

SAMPLERS = ("ddpm", "ddim", "dpm++2m")


@dataclass
class StepRecord:
    """What happened at one denoising step, from x_t to x_prev."""

    i: int  # step number in this run, 0 = first (noisiest)
    t: int  # timestep of x_t
    t_prev: int  # timestep of x_prev (-1: the final, clean image)
    x_t: torch.Tensor  # (B, C, H, W) the input of this step
    eps_hat: torch.Tensor  # (B, C, H, W) predicted noise (after guidance, if any)
    x0_hat: torch.Tensor  # (B, C, H, W) predicted clean image
    x_prev: torch.Tensor  # (B, C, H, W) the output of this step
    sigma: float  # std of the fresh noise added at this step
    extras: dict = field(default_factory=dict)  # e.g. what guidance did


# The guidance hook: guide(model, x_t, t, extras, **model_kwargs) -> eps_hat, called at every step in
# place of the plain model call. It may run the model as it likes (guidance.ClassifierFree: twice in one
# batch; guidance.ClipGuidance: with gradients) and store what it did in ``extras`` (recorded by
# ``trace.annotate`` when a tensor). It is how guidance plugs into the one sampling loop.
Guide = Callable[..., torch.Tensor]

# The evidence hook: keep(x_prev, t_prev) -> x_prev, called on each step's output. It puts back what is
# known of the picture (inpainting: the known pixels, dusted to t_prev; ``analysis.KnownPixels``).
Keep = Callable[[torch.Tensor, int], torch.Tensor]


def check_sampling(n: int | None, steps: int | None, T: int, eta: float) -> None:
    """Raise ``ValueError`` naming the allowed range unless n >= 1, 1 <= steps <= T and 0 <= eta <= 1
    (``n`` or ``steps`` None: not checked)."""
    if n is not None and (not isinstance(n, numbers.Integral) or n < 1):
        raise ValueError(f"n (the number of images) must be a whole number >= 1, got {n!r}")
    if steps is not None and (not isinstance(steps, numbers.Integral) or not 1 <= steps <= T):
        raise ValueError(f"steps must be a whole number from 1 to {T} (the schedule's T), got {steps!r}")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1] (0: deterministic DDIM, 1: DDPM's noise), got {eta}")


def ddim_sigma(ab_t: torch.Tensor, ab_prev: torch.Tensor, eta: float) -> torch.Tensor:
    """Song et al. 2021, eq. 16."""
    return eta * ((1 - ab_prev) / (1 - ab_t)).sqrt() * (1 - ab_t / ab_prev).sqrt()


def half_log_snr(ab: torch.Tensor) -> torch.Tensor:
    """lambda_t = log(alpha_t / sigma_t) = log(alpha_bar_t / (1 - alpha_bar_t)) / 2 (Lu et al. 2022)."""
    return 0.5 * torch.log(ab / (1 - ab))


def dpm_solver_pp_2m(x_t: torch.Tensor, x0_hat: torch.Tensor, ab_t: torch.Tensor, ab_prev: torch.Tensor,
                     last: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """One DPM-Solver++(2M) step from x_t at t to t' (alpha_bar ``ab_prev``; 1 for the clean image),
    Lu et al. 2022, Algorithm 2. ``last``: (x0_hat, alpha_bar) of the step before, at t'' > t; None, or
    t' = -1: first order (DDIM with eta = 0). Coefficients in float64 (``ab_*`` are float64 scalars)."""
    alpha_t, sigma_t = ab_t.sqrt(), (1 - ab_t).sqrt()
    alpha_p, sigma_p = ab_prev.sqrt(), (1 - ab_prev).sqrt()  # alpha_t', sigma_t'
    exp_neg_h = (sigma_p / alpha_p) * (alpha_t / sigma_t)  # exp(-h) = exp(lambda_t - lambda_t'); 0 at sigma_t' = 0
    D = x0_hat  # first order: D = x_theta(x_t, t)
    if last is not None and sigma_p > 0:
        x0_hat_last, ab_last = last
        h = half_log_snr(ab_prev) - half_log_snr(ab_t)  # h_i = lambda_{t_i} - lambda_{t_{i-1}}
        h_last = half_log_snr(ab_t) - half_log_snr(ab_last)  # h_{i-1} = lambda_{t_{i-1}} - lambda_{t_{i-2}}
        r = h_last / h  # r_i = h_{i-1} / h_i
        D = (1 + 1 / (2 * r)).float() * x0_hat - (1 / (2 * r)).float() * x0_hat_last  # D_i
    return (sigma_p / sigma_t).float() * x_t - (alpha_p * (exp_neg_h - 1)).float() * D  # x_{t_i}


def denoise(
    model: Callable,
    x_T: torch.Tensor,
    schedule: Schedule,
    steps: int | None = None,
    sampler: str = "ddim",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    clip_x0: bool | float = True,
    guide: Guide | None = None,
    start: int = 0,
    keep: Keep | None = None,
    **model_kwargs,
) -> Iterator[StepRecord]:
    """Denoise ``x_T`` step by step, yielding a StepRecord per step.

    ``model(x_t, t, **model_kwargs)`` returns eps_hat; ``steps`` (default: all T) are spread
    evenly over the schedule; ``guide`` computes eps_hat at each step instead (guidance, see ``Guide``).
    ``start``: begin at that step of the run, ``x_T`` being the x_t there (a fork, or a noisy picture
    to restore); ``keep`` puts the evidence back into each step's output (see ``Keep``).
    ``clip_x0``: clamp x0_hat to the data's range, [-1, 1] for pictures (True), [-b, b] for a number b
    (a latent model's latents, ``latent.Sketchbook``), not at all (False).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
    if not isinstance(clip_x0, bool) and not clip_x0 > 0:
        raise ValueError(f"clip_x0 is True (clamp x0_hat to [-1, 1]), False (no clamp) or a bound > 0, got {clip_x0!r}")
    check_sampling(None, steps, schedule.T, eta)
    ts = schedule.subsequence(schedule.T if steps is None else steps)
    if not 0 <= start < len(ts):
        raise ValueError(f"start must be a step of the run, 0 to {len(ts) - 1}, got {start}")
    alpha_bar = schedule.alpha_bar.to(torch.float64)
    x = x_T
    last = None  # dpm++2m: (x0_hat, alpha_bar_t) of the step before; none at the first step run
    for i in range(start, len(ts)):
        t = ts[i]
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ab_t = alpha_bar[t]
        ab_prev = alpha_bar[t_prev] if t_prev >= 0 else torch.ones((), dtype=torch.float64)
        t_batch = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        extras: dict = {}
        if guide is None:
            with torch.no_grad():
                eps_hat = model(x, t_batch, **model_kwargs)
        else:
            eps_hat = guide(model, x, t_batch, extras, **model_kwargs)
        x0_hat = predict_x0(x, eps_hat, ab_t)  # (x_t - sqrt(1 - ab_t) eps_hat) / sqrt(ab_t), eq. 15
        if clip_x0 is not False:
            bound = 1.0 if clip_x0 is True else float(clip_x0)
            x0_hat = x0_hat.clamp(-bound, bound)
            # keep eps consistent with the clipped x0_hat (as diffusers does)
            eps_hat = (x - ab_t.sqrt().float() * x0_hat) / (1 - ab_t).sqrt().float()
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) if t_prev >= 0 else None
        if sampler == "ddpm":
            beta_t = 1 - ab_t / ab_prev  # the effective beta between t and t_prev
            c0 = ab_prev.sqrt() * beta_t / (1 - ab_t)
            ct = (1 - beta_t).sqrt() * (1 - ab_prev) / (1 - ab_t)
            sigma = (beta_t * (1 - ab_prev) / (1 - ab_t)).sqrt()
            x_prev = c0.float() * x0_hat + ct.float() * x
        elif sampler == "ddim":
            sigma = ddim_sigma(ab_t, ab_prev, eta)
            x_prev = ab_prev.sqrt().float() * x0_hat + (1 - ab_prev - sigma ** 2).clamp(min=0).sqrt().float() * eps_hat
        else:  # dpm++2m: deterministic
            sigma = torch.zeros((), dtype=torch.float64)
            x_prev = dpm_solver_pp_2m(x, x0_hat, ab_t, ab_prev, last)
            last = (x0_hat, ab_t)
        if z is not None:
            x_prev = x_prev + sigma.float() * z
        if keep is not None:
            x_prev = keep(x_prev, t_prev)
        yield StepRecord(i, t, t_prev, x, eps_hat, x0_hat, x_prev, float(sigma), extras)
        x = x_prev


def start_noise(model, n: int, seed: int = 0, device=None) -> tuple[torch.Tensor, torch.Generator]:
    """x_T ~ N(0, I) for ``n`` images from ``seed``, and the generator that continues it.

    Noise is drawn on the CPU so the same seed gives the same start on any device.
    """
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, cfg.in_channels, cfg.image_size, cfg.image_size, generator=g)
    return x_T.to(device or next(model.parameters()).device), g


def step_noise(model, seed: int, g: torch.Generator) -> torch.Generator:
    """The generator of each step's fresh noise: ``g`` on the CPU; on a GPU, one of its own from ``seed``
    (CPU generators cannot feed CUDA tensors)."""
    device = next(model.parameters()).device
    return g if device.type == "cpu" else torch.Generator(device).manual_seed(seed)


# Default DDIM eta for sample/sample_steps. With small models trained for minutes, fresh noise
# at every step (eta = 1) corrects the model's errors, while deterministic DDIM (eta = 0)
# accumulates them into cluttered, over-bright pictures (seen on our U-Net: notebook 02).
ETA = 1.0


def sample_steps(model, n: int, steps: int = 50, sampler: str = "ddim", seed: int = 0, eta: float = ETA,
                 x_T: torch.Tensor | None = None, **kwargs) -> Iterator[StepRecord]:
    """The step-by-step generator for ``n`` images of ``model`` from ``seed``.

    ``eta`` only matters for DDIM (default ``ETA`` = 1). The start noise x_T and the fresh
    noise of stochastic steps come from a generator seeded with ``seed``. The arguments are checked
    at the call, not at the first step, so every caller fails before it starts any work.
    """
    check_sampling(n, steps, model.schedule.T, eta)
    return _steps(model, n, steps, sampler, seed, eta, x_T, **kwargs)


def _steps(model, n: int, steps: int, sampler: str, seed: int, eta: float, x_T: torch.Tensor | None,
           **kwargs) -> Iterator[StepRecord]:
    """``sample_steps``' generator, once its arguments are known to be good."""
    noise, g = start_noise(model, n, seed)
    x_T = noise if x_T is None else x_T
    device = next(model.parameters()).device
    g = step_noise(model, seed, g)
    with evaluating(model):
        yield from denoise(model, x_T.to(device), model.schedule, steps, sampler, eta, g, **kwargs)


def sample(model, n: int, steps: int = 50, sampler: str = "ddim", seed: int = 0, eta: float = ETA,
           progress: bool = False, **kwargs) -> torch.Tensor:
    """``n`` images (n, C, H, W) in [-1, 1]: run the sampler to the end, keep only the result."""
    x = None
    for rec in tqdm(sample_steps(model, n, steps, sampler, seed, eta, **kwargs), total=steps,
                    desc=f"{sampler} sampling", disable=not progress, leave=False):
        x = rec.x_prev
    return x.clamp(-1, 1).cpu()


def sample_many(model, n: int, steps: int = 50, seed: int = 0, batch: int = 64, **kwargs) -> torch.Tensor:
    """``n`` images drawn ``batch`` at a time (chunk starting at image i uses seed ``seed + i``),
    so memory stays bounded however many images are asked for."""
    check_sampling(n, steps, model.schedule.T, kwargs.get("eta", ETA))
    return torch.cat([sample(model, min(batch, n - i), steps=steps, seed=seed + i, **kwargs)
                      for i in range(0, n, batch)])
