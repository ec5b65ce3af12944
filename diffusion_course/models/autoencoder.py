"""The latent sketchbook: a small KL-regularised autoencoder (Rombach et al. 2022, sec. 3.1 and appendix G;
Kingma & Welling 2014).

The encoder squeezes a scene (B, 3, 32, 32) into a small grid of latents, each a Gaussian
q(z | x) = N(mu, sigma^2); the decoder paints a scene back from z. Training keeps the reconstruction close
and adds a small KL term towards N(0, I), whose closed form per image is

    KL(q || N(0, I)) = 1/2 sum (mu^2 + sigma^2 - 1 - log sigma^2)       (Kingma & Welling 2014, appendix B)

so that nearby latents decode to similar scenes and the latents do not drift to huge values.
Diffusion then happens on latents scaled to unit variance (``scale``, a stored buffer set from a batch
of scenes, as Stable Diffusion's 0.18215 was): ``encode`` and ``decode`` work in that scaled space.
``bound``, set with it, is the largest |latent| of that batch: samplers clamp a latent x0_hat to it, as
they clamp a picture's to [-1, 1] (unclamped, the first steps' x0_hat, divided by sqrt(alpha_bar_t) ~ 1e-4
under the cosine schedule, blows up, and so does everything after it).

    ae = Autoencoder(AutoencoderConfig())
    z = ae.encode(x)          # (B, 4, 8, 8), about unit variance once ``set_scale`` has run
    x_hat = ae.decode(z)      # (B, 3, 32, 32) in [-1, 1]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AutoencoderConfig
from .layers import ResBlock

RANGE_SLACK = 1e-3  # images a little outside [-1, 1] (rounding) are still accepted


@dataclass
class Posterior:
    """q(z | x) = N(mean, exp(logvar)) per latent element (B, C, h, w), in the encoder's own units."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return (0.5 * self.logvar).exp()

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mean + sigma * n, n ~ N(0, I) (the reparameterisation trick: gradients reach mean and sigma)."""
        n = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * n

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per image (B,), in closed form (see the module docstring)."""
        return 0.5 * (self.mean ** 2 + self.logvar.exp() - 1 - self.logvar).sum(dim=(1, 2, 3))


class Autoencoder(nn.Module):
    """Encoder: conv, then per level residual blocks and a stride-2 conv; out: mean and log-variance.
    Decoder: the mirror image, with nearest-neighbour upsampling. No attention: at 32 x 32 the levels'
    3x3 convolutions already see most of an object."""

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        self.config = cfg = config
        ch, g = cfg.channels, cfg.groups
        self.encoder = nn.ModuleList([nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)])
        for i, c in enumerate(ch):
            self.encoder.append(ResBlock(ch[max(i - 1, 0)], c, 0, g))
            if i < len(ch) - 1:
                self.encoder.append(nn.Conv2d(c, c, 3, stride=2, padding=1))  # halve H, W
        self.encoder.extend([ResBlock(ch[-1], ch[-1], 0, g), nn.GroupNorm(g, ch[-1]), nn.SiLU(),
                             nn.Conv2d(ch[-1], 2 * cfg.latent_channels, 3, padding=1)])  # mean, logvar
        self.decoder = nn.ModuleList([nn.Conv2d(cfg.latent_channels, ch[-1], 3, padding=1),
                                      ResBlock(ch[-1], ch[-1], 0, g)])
        for i in reversed(range(len(ch))):
            self.decoder.append(ResBlock(ch[min(i + 1, len(ch) - 1)], ch[i], 0, g))
            if i > 0:
                self.decoder.extend([nn.Upsample(scale_factor=2, mode="nearest"),
                                     nn.Conv2d(ch[i], ch[i], 3, padding=1)])  # double H, W
        self.decoder.extend([nn.GroupNorm(g, ch[0]), nn.SiLU(), nn.Conv2d(ch[0], cfg.in_channels, 3, padding=1)])
        self.register_buffer("scale", torch.ones(()))  # latents x scale have unit variance (``set_scale``)
        self.register_buffer("bound", torch.full((), 4.0))  # the largest |scaled latent| seen (``set_scale``)

    # ---------------------------------------------------------------- shapes
    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(C, h, w) of one image's latent."""
        s = self.config.latent_size
        return (self.config.latent_channels, s, s)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        s = self.config.image_size
        return (self.config.in_channels, s, s)

    def check_images(self, x: torch.Tensor) -> None:
        """ValueError naming the expected shape and range unless ``x`` is (B, 3, 32, 32) in [-1, 1]."""
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"the autoencoder encodes images of shape (B, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(x.shape)}")
        lo, hi = x.min().item(), x.max().item()
        if lo < -1 - RANGE_SLACK or hi > 1 + RANGE_SLACK:
            raise ValueError(f"the autoencoder encodes images in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]; "
                             "convert uint8 pictures with diffusion_course.images.dequantize")

    def check_latents(self, z: torch.Tensor) -> None:
        if z.ndim != 4 or tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"the autoencoder decodes latents of shape (B, {', '.join(map(str, self.latent_shape))}), "
                             f"got {tuple(z.shape)}")

    # ---------------------------------------------------------------- the two halves
    def posterior(self, x: torch.Tensor) -> Posterior:
        """q(z | x) in the encoder's own (unscaled) units."""
        self.check_images(x)
        h = x
        for layer in self.encoder:
            h = layer(h)
        mean, logvar = h.chunk(2, dim=1)  # (B, C, h, w) each
        return Posterior(mean, logvar.clamp(-30.0, 20.0))

    def paint(self, z_raw: torch.Tensor) -> torch.Tensor:
        """The decoder on unscaled latents: images (B, 3, H, W), not clamped (the training loss sees all)."""
        h = z_raw
        for layer in self.decoder:
            h = layer(h)
        return h

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Posterior]:
        """Reconstruct through a sampled latent: (x_hat, q(z | x)) for the training loss."""
        q = self.posterior(x)
        return self.paint(q.sample(generator)), q

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled latents (B, C, h, w) of images in [-1, 1]: the posterior mean times ``scale``."""
        return self.posterior(x).mean * self.scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] painted from scaled latents."""
        self.check_latents(z)
        return self.paint(z / self.scale).clamp(-1, 1)

    @torch.no_grad()
    def set_scale(self, x: torch.Tensor) -> float:
        """Set ``scale`` = 1 / std of the posterior means of ``x``, so that ``encode`` gives unit variance, and
        ``bound`` = the largest |scaled latent| among them: the edge of the sketchbook's page, to which a
        sampler clamps x0_hat as it clamps a picture's to [-1, 1]. Returns the scale."""
        mean = self.posterior(x).mean.float()
        self.scale.fill_(1.0 / mean.std().item())
        self.bound.fill_((mean * self.scale).abs().max().item())
        return self.scale.item()

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """L1 error summed per image (B,): Stable Diffusion's autoencoder's pixel term (its scale matches the KL's)."""
    return F.l1_loss(x_hat.float(), x.float(), reduction="none").sum(dim=(1, 2, 3))
