"""Diffusion in the sketchbook: latent diffusion (Rombach et al. 2022).

Before drawing, each student imagines the picture in a small sketchbook. Here the sketchbook is the
autoencoder's latent space (models/autoencoder.py): the denoiser, sampler and annotated sampler are the
same as for pixels, only the thing being dusted and cleaned is a latent z (B, 4, 8, 8) instead of a scene
(B, 3, 32, 32), and the decoder paints the result at the end:

    z_0 = scale * E(x_0),   z_t = sqrt(alpha_bar_t) z_0 + sqrt(1 - alpha_bar_t) eps,   x = D(z_0_hat / scale)

    book = load("latent-unet")                  # the denoiser and the autoencoder it denoises for
    x = book.sample(16, steps=50)               # (16, 3, 32, 32) painted scenes
    trace = book.annotate(16, steps=50)         # latents x_t, x0_hat and the painted x0_hat, every step

Latents are not pictures, so x0_hat is clamped to the latents' own range, the autoencoder's ``bound``
(the largest |latent| of the scenes that set its scale), instead of [-1, 1]: a clamp to [-1, 1] would cut
unit-variance latents short, and no clamp at all lets the first steps' x0_hat blow up.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..diffusion import checkpoints, samplers
from ..diffusion.samplers import ETA
from ..looking import trace
from ..models import Autoencoder


class Sketchbook:
    """A latent denoiser with the autoencoder it denoises for: sample, annotate, encode, decode, walk."""

    def __init__(self, denoiser, ae: Autoencoder):
        cfg = denoiser.config
        if (cfg.in_channels, cfg.image_size, cfg.image_size) != ae.latent_shape:
            raise ValueError(f"the denoiser works on {(cfg.in_channels, cfg.image_size, cfg.image_size)} but the "
                             f"autoencoder's latents are {ae.latent_shape}: pair a latent model with its own "
                             "autoencoder (its config names it)")
        self.denoiser, self.ae = denoiser, ae.eval()

    def __repr__(self) -> str:
        return (f"Sketchbook({type(self.denoiser).__name__} on latents {self.ae.latent_shape}, "
                f"painted to {self.ae.image_shape})")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.ae.encode(x.to(self.device)).cpu()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.ae.decode(z.to(self.device)).cpu()

    @property
    def bound(self) -> float:
        """The latents' range, to which the sampler clamps x0_hat."""
        return self.ae.bound.item()

    @property
    def device(self) -> torch.device:
        return next(self.ae.parameters()).device

    def steps(self, n: int, steps: int = 50, sampler: str = "ddim", seed: int = 0, eta: float = ETA, **kwargs):
        """The sampler's generator over latents (``samplers.sample_steps``, x0_hat clamped to ``ae.bound``)."""
        return samplers.sample_steps(self.denoiser, n, steps, sampler, seed, eta, clip_x0=self.bound, **kwargs)

    def sample(self, n: int, steps: int = 50, sampler: str = "ddim", seed: int = 0, eta: float = ETA,
               progress: bool = False, batch: int = 64, **kwargs) -> torch.Tensor:
        """``n`` painted scenes (n, 3, H, W) in [-1, 1], ``batch`` at a time (the chunk starting at image i uses
        seed ``seed + i``, as ``samplers.sample_many``)."""
        out = []
        for i in range(0, n, batch):
            z = None
            for rec in tqdm(self.steps(min(batch, n - i), steps, sampler, seed + i, eta, **kwargs), total=steps,
                            desc="sampling in the sketchbook", disable=not progress, leave=False):
                z = rec.x_prev
            out.append(self.decode(z))
        return torch.cat(out)

    def annotate(self, n: int = 16, steps: int = 50, **kwargs) -> trace.Trace:
        """``trace.annotate`` over latents: the trace holds the latents (x_t, x0_hat, eps_hat), each recorded
        step's x0_hat painted by the decoder (``decoded``) and the painted final scenes (``final``)."""
        return trace.annotate(self.denoiser, n, steps, clip_x0=self.bound, decode=self.ae.decode, **kwargs)

    def interpolate(self, a: torch.Tensor, b: torch.Tensor, stops: int = 9) -> torch.Tensor:
        """Walk from scene ``a`` to scene ``b`` (3, H, W) in the sketchbook: their latents mixed linearly,
        each mix painted: (stops, 3, H, W)."""
        if stops < 2:
            raise ValueError(f"a walk needs at least 2 stops (its two ends), got {stops}")
        z = self.encode(torch.stack([a, b]))
        w = torch.linspace(0, 1, stops)[:, None, None, None]
        return self.decode((1 - w) * z[:1] + w * z[1:])


def load(name: str = "latent-unet", device=None) -> Sketchbook:
    """A shipped latent model and its autoencoder, by name."""
    denoiser = checkpoints.load_pretrained(name, device)
    return Sketchbook(denoiser, checkpoints.autoencoder_of(denoiser.config, next(denoiser.parameters()).device))


def draw(model, n: int, **kwargs) -> torch.Tensor:
    """``n`` pictures from any denoiser: a pixel model's samples (``samplers.sample_many``), a latent model's
    painted by the autoencoder its config names."""
    ae = autoencoder_for(model)
    return samplers.sample_many(model, n, **kwargs) if ae is None else Sketchbook(model, ae).sample(n, **kwargs)


def autoencoder_for(model) -> Autoencoder | None:
    """The shipped autoencoder a latent model draws for, on the model's device, or None for a pixel model."""
    if not getattr(model.config, "autoencoder", ""):
        return None
    return checkpoints.autoencoder_of(model.config, next(model.parameters()).device).eval()


def painter(model):
    """What paints a model's drawings as pictures: for a latent model its autoencoder's decoder (differentiable, for
    guidance that reads pictures), for a pixel model None (its drawings are pictures already)."""
    ae = autoencoder_for(model)
    return None if ae is None else ae.decode


def drawer(ae: Autoencoder):
    """``draw(model, n, steps, seed) -> images``: how ``metrics.probe`` samples a latent model in training."""
    return lambda model, n, steps, seed: Sketchbook(model, ae).sample(n, steps, seed=seed)
