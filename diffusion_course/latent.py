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

from . import checkpoints, samplers, trace
from .models import Autoencoder
from .pools import ImagePool
from .samplers import ETA


def autoencoder_of(denoiser_config, device=None) -> Autoencoder:
    """The shipped autoencoder a latent denoiser's config names, with a clear error when it is missing."""
    name = getattr(denoiser_config, "autoencoder", "")
    if not name:
        raise ValueError("this denoiser draws pixels, not latents (its config names no autoencoder); "
                         "sample it with samplers.sample")
    path = checkpoints.DATA_DIR / f"{name}.safetensors"
    if not path.exists():
        raise checkpoints.CheckpointError(
            f"this latent model paints through the autoencoder {name!r}, but {path} is missing; make it with: "
            f"python -m diffusion_course autoencoder --preset {name} --out {path.with_suffix('')}")
    return checkpoints.load_model(path, device or checkpoints.default_device())


class LatentPool:
    """A pool of scenes encoded once into scaled latents, and their mirror images (a flipped latent is
    not the latent of the flipped scene, so both are encoded). ``sample`` gives latent minibatches."""

    def __init__(self, pool: ImagePool, ae: Autoencoder, batch: int = 500, progress: bool = False):
        device = next(ae.parameters()).device
        chunks = []
        with torch.no_grad():
            for start in tqdm(range(0, len(pool), batch), desc="encoding scenes into the sketchbook",
                              disable=not progress):
                x = pool[torch.arange(start, min(start + batch, len(pool)))].to(device)
                chunks.append(torch.stack([ae.encode(x), ae.encode(x.flip(-1))], dim=1).cpu())  # (b, 2, C, h, w)
        self.latents = torch.cat(chunks)  # (N, 2, C, h, w): each scene, then its mirror image
        self.labels = getattr(pool, "labels", [])

    def __len__(self) -> int:
        return len(self.latents)

    def __getitem__(self, i):
        """The latents of scenes ``i`` (not mirrored)."""
        return self.latents[i, 0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A random minibatch of latents (n, C, h, w), each of a scene or of its mirror image."""
        idx = torch.randint(len(self.latents), (n,), generator=generator)
        flip = (torch.rand(n, generator=generator) < 0.5).long()
        return self.latents[idx, flip]


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
    return Sketchbook(denoiser, autoencoder_of(denoiser.config, next(denoiser.parameters()).device))


def draw(model, n: int, **kwargs) -> torch.Tensor:
    """``n`` pictures from any denoiser: a pixel model's samples (``samplers.sample_many``), a latent model's
    painted by the autoencoder its config names."""
    if getattr(model.config, "autoencoder", ""):
        return Sketchbook(model, autoencoder_of(model.config, next(model.parameters()).device)).sample(n, **kwargs)
    return samplers.sample_many(model, n, **kwargs)


def drawer(ae: Autoencoder):
    """``draw(model, n, steps, seed) -> images``: how ``metrics.probe`` samples a latent model in training."""
    return lambda model, n, steps, seed: Sketchbook(model, ae).sample(n, steps, seed=seed)
