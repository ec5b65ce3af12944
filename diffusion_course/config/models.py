"""The model configs: everything needed to rebuild a network, its shape *and* (for a denoiser) the noise schedule
it was trained for, so that a checkpoint is a config plus weights (``checkpoints.save_model`` writes it into the
file's metadata). One frozen dataclass per kind of network; ``kind`` names the class (``config.from_dict``,
``models.build``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UNetConfig:
    """Team CNN: a small U-Net (Ronneberger et al. 2015; Ho et al. 2020's variant)."""

    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)  # one entry per resolution level
    blocks: int = 2  # residual blocks per level on the way down (one more on the way up)
    attn_levels: tuple[int, ...] = (2,)  # levels (indices into channels) with self-attention
    heads: int = 4
    groups: int = 8  # GroupNorm groups
    cond_dim: int = 0  # size of an optional conditioning vector (0: unconditional; without words: a description)
    # words: the width and length of the prompt's token vectors read by cross-attention (0: no words).
    # Cross-attention sits beside every self-attention (attn_levels and the bottleneck).
    context_dim: int = 0
    context_len: int = 0
    schedule: str = "cosine"
    T: int = 1000
    # what the network's last layer says: "eps", the noise (Ho et al. 2020), or "v", the velocity
    # sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022), turned into the noise before it leaves
    # the model, so every sampler reads eps either way
    prediction: str = "eps"
    autoencoder: str = ""  # a latent model: the shipped autoencoder (data/NAME) whose latents it denoises
    kind: str = "unet"


@dataclass(frozen=True)
class DiTConfig:
    """Team Transformers: a small DiT (Peebles & Xie 2023) with optional U-ViT long skips."""

    image_size: int = 32
    in_channels: int = 3
    patch: int = 2
    width: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    long_skips: bool = True  # U-ViT (Bao et al. 2023): shallow block i feeds deep block depth-1-i
    conv_out: bool = True  # a 3x3 conv after unpatchify smooths patch seams
    # channels of a 3x3 conv stem before the pieces are cut (0: none, each piece is read on its own as in DiT):
    # every piece then starts from pixels that saw their neighbours across its edges (Xiao et al. 2021)
    stem: int = 0
    # where each piece sits: "learned" (a table from small random numbers, as U-ViT) or "sincos" (fixed 2-D sines
    # and cosines of row and column, as DiT: neighbouring pieces start out alike, and nothing has to be learned)
    positions: str = "learned"
    cond_dim: int = 0
    context_dim: int = 0  # words: cross-attention in every block to the prompt's tokens (0: none)
    context_len: int = 0
    schedule: str = "cosine"
    T: int = 1000
    # what the network's last layer says: "eps", the noise (Ho et al. 2020), or "v", the velocity
    # sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022), turned into the noise before it leaves
    # the model, so every sampler reads eps either way
    prediction: str = "eps"
    autoencoder: str = ""  # a latent model: the shipped autoencoder (data/NAME) whose latents it denoises
    kind: str = "dit"


@dataclass(frozen=True)
class TemplateConfig(UNetConfig):
    """No dust (notebook 06): the U-Net's backbone mapping a scene description straight to a picture, trained
    with a pixel loss. It learns the average of every scene that fits: a template (models/template.py)."""

    kind: str = "template"


@dataclass(frozen=True)
class JudgeConfig:
    """The scene judge's network (models/judge.py): a small CNN that reads scenes and rejects non-scenes."""

    width: int = 32
    image_size: int = 32
    spatial_width: int = 256  # the hidden layer the relation and geometry heads read from
    version: int = 2  # 1: presence, colour, phase and realism; 2: + relations and geometry (re-drawing)
    kind: str = "judge"


@dataclass(frozen=True)
class AutoencoderConfig:
    """The latent sketchbook (models/autoencoder.py): a small KL-regularised autoencoder (Rombach et al. 2022)."""

    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)  # one entry per resolution level; each level after the first halves
    latent_channels: int = 4
    groups: int = 8
    kind: str = "autoencoder"

    @property
    def latent_size(self) -> int:
        """The side of the latent grid: the image's, halved once per level after the first."""
        return self.image_size // 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class GANConfig:
    """A tiny GAN (Goodfellow et al. 2014) in DCGAN's shape (Radford et al. 2016), notebook 06's generator that
    collapses: a generator from z to a picture and a discriminator that tells drawn from real (models/gan.py)."""

    image_size: int = 32
    z_dim: int = 64
    width: int = 32  # channels at the finest level; each coarser level doubles them
    # DCGAN's generator has BatchNorm; ours leaves it out by default: a picture then depends on its own z alone
    # (no batch statistics, in training or in drawing), and the collapse measured is the generator's own
    batchnorm: bool = False
    kind: str = "gan"
