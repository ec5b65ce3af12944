"""Figures of notebook 09 (the latent sketchbook): scenes beside their latent channels, what nudging one
channel does to the painted scene, and the distribution of latents before and after scaling."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from ...images import to_uint8

CHANNEL_CMAP = "RdBu_r"  # a latent channel: blue below zero, red above, white at zero


def latent_channels(x: torch.Tensor, z: torch.Tensor, limit: float = 3.0, title: str | None = None):
    """Each scene (B, 3, H, W) beside its latent channels (B, C, h, w), one row per scene, every channel on the
    same colour scale (-``limit`` .. ``limit``: the latents have unit variance); returns the figure."""
    B, C = z.shape[:2]
    fig, axes = plt.subplots(B, C + 1, figsize=(1.5 * (C + 1), 1.5 * B), squeeze=False)
    for b in range(B):
        axes[b, 0].imshow(to_uint8(x[b]), interpolation="nearest")
        for c in range(C):
            im = axes[b, c + 1].imshow(z[b, c].float(), cmap=CHANNEL_CMAP, vmin=-limit, vmax=limit,
                                       interpolation="nearest")
            if b == 0:
                axes[b, c + 1].set_title(f"channel {c}", fontsize=9)
    axes[0, 0].set_title("scene", fontsize=9)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[:, 1:].ravel().tolist(), shrink=0.8, label="latent value")
    if title:
        fig.suptitle(title)
    return fig


def nudges(book, x: torch.Tensor, amounts=(-3.0, -1.5, 0.0, 1.5, 3.0), title: str | None = None):
    """What each latent channel paints: one scene (3, H, W) re-painted with ``amount`` added to one channel
    everywhere, a row per channel; the middle column (0) is the plain reconstruction. Returns the figure."""
    z = book.encode(x[None])[0]  # (C, h, w)
    C = z.shape[0]
    fig, axes = plt.subplots(C, len(amounts), figsize=(1.5 * len(amounts), 1.5 * C), squeeze=False)
    for c in range(C):
        nudged = z.expand(len(amounts), -1, -1, -1).clone()
        nudged[:, c] += torch.tensor(amounts)[:, None, None]
        for ax, picture, a in zip(axes[c], book.decode(nudged), amounts):
            ax.imshow(to_uint8(picture), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(f"{a:+g}", fontsize=9)
        axes[c, 0].set_ylabel(f"channel {c}", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def latent_histograms(named: dict, bins: int = 80, ax=None):
    """Histograms of latent values, one per entry of ``{label: tensor}``, with the unit normal's density
    beside them; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    for label, v in named.items():
        v = v.flatten().float()
        ax.hist(v.numpy(), bins=bins, density=True, alpha=0.5, label=f"{label} (std {v.std():.2f})")
    grid = torch.linspace(-4, 4, 200)
    ax.plot(grid, torch.exp(-grid ** 2 / 2) / (2 * torch.pi) ** 0.5, "k--", lw=1, label="N(0, 1)")
    ax.set_xlabel("latent value")
    ax.legend(fontsize=8)
    return ax
