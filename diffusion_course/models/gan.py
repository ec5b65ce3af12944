"""A tiny GAN (Goodfellow et al. 2014) in DCGAN's shape (Radford et al. 2016): notebook 06's generator that
collapses.

The generator G turns a random z into a picture; the discriminator D tells G's pictures from real scenes.
They play a game: D is trained to tell them apart, G to fool D (the non-saturating loss,
``adversarial.py``). Nothing in that game asks G to draw *every kind* of scene: a G that draws one kind of
scene D cannot yet reject wins its round, and may keep drawing it. That is **mode collapse**. A diffusion
model's loss is an average over every training scene, so leaving a kind of scene out costs it directly.

    G: z (z_dim) -> 4x4 x 4w -> 8x8 x 2w -> 16x16 x w -> 32x32 x 3 (tanh)   transposed convolutions
    (DCGAN also puts BatchNorm in G, against collapse; here only with ``GANConfig(batchnorm=True)``)
    D: 32x32 x 3 -> 16x16 x w -> 8x8 x 2w -> 4x4 x 4w -> one logit           strided convolutions + LeakyReLU
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import GANConfig


def generator(cfg: GANConfig) -> nn.Sequential:
    w = cfg.width
    if cfg.image_size != 32:  # (4 x 4, doubled three times)
        raise ValueError(f"the tiny GAN draws 32 x 32 pictures, not {cfg.image_size}")
    norm = nn.BatchNorm2d if cfg.batchnorm else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Linear(cfg.z_dim, 4 * w * 4 * 4), nn.Unflatten(1, (4 * w, 4, 4)), norm(4 * w), nn.ReLU(),
        nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), norm(2 * w), nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1), norm(w), nn.ReLU(),
        nn.ConvTranspose2d(w, 3, 4, 2, 1), nn.Tanh())


def discriminator(cfg: GANConfig) -> nn.Sequential:
    w = cfg.width
    return nn.Sequential(
        nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * w * 4 * 4, 1))


class GAN(nn.Module):
    """The generator and the discriminator; ``sample(n, seed)`` draws ``n`` pictures in [-1, 1]."""

    def __init__(self, config: GANConfig = GANConfig()):
        super().__init__()
        self.config = config
        self.generator = generator(config)
        self.discriminator = discriminator(config)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def z(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` latent codes from ``seed`` (drawn on the CPU, so a seed gives the same codes on any device)."""
        return torch.randn(n, self.config.z_dim, generator=torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` pictures (n, 3, H, W) in [-1, 1] from ``seed``, with the generator in eval mode (BatchNorm's
        running statistics, so a picture does not depend on the others in its batch)."""
        was = self.generator.training
        self.generator.eval()
        try:
            return self.generator(self.z(n, seed).to(next(self.parameters()).device)).cpu()
        finally:
            self.generator.train(was)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
