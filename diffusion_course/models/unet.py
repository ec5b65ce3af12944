"""Team CNN: a small U-Net denoiser — keyhole explorers.

Each 3x3 convolution looks through a small window; stacking them and halving the
resolution lets deeper levels see more of the picture (their receptive field grows).
Skip connections carry the fine detail across from the way down to the way up.
Layout follows Ho et al. 2020 (DDPM) at toy scale: residual blocks with GroupNorm and
SiLU, the time embedding added in every block, self-attention at the lowest resolution.

Taps (each ``Level`` names its own, see ``tap_kinds()``):
    "down.{l}"       features at level l on the way down      (B, C_l, H_l, W_l)    features
    "down.{l}.attn"  attention probabilities at level l       (B, heads, H_l*W_l, H_l*W_l)  attention
    "mid", "mid.attn"                                        the bottleneck
    "up.{l}", "up.{l}.attn"                                  level l on the way up
    "down.{l}.words", "mid.words", "up.{l}.words"            (models that listen) where each place
                                                             reads each word  (B, heads, H_l*W_l, L)  words
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import UNetConfig
from ..words.prompts import Prompt
from .base import Denoiser
from .layers import CrossAttention, HookPoint, ResBlock, SpatialAttention, TimeEmbedding, zero_init


class Level(nn.Module):
    """Residual blocks at one resolution, optional attention after them (and, in a model that listens,
    cross-attention to the prompt's tokens); taps ``name`` (its output features), ``name.attn`` (its
    attention probabilities) and ``name.words`` (its cross-attention probabilities)."""

    def __init__(self, c_in: int, c_out: int, n_blocks: int, emb_dim: int, cfg: UNetConfig, attn: bool, name: str):
        super().__init__()
        self.blocks = nn.ModuleList(
            ResBlock(c_in if i == 0 else c_out, c_out, emb_dim, cfg.groups) for i in range(n_blocks))
        self.attn = SpatialAttention(c_out, cfg.heads, cfg.groups, tap=f"{name}.attn") if attn else None
        self.cross = CrossAttention(c_out, cfg.context_dim, cfg.heads, tap=f"{name}.words") \
            if attn and cfg.context_dim else None
        self.out = HookPoint(name, "features")

    def forward(self, h: torch.Tensor, emb: torch.Tensor, prompt: Prompt | None = None) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, emb)
        if self.attn is not None:
            h = self.attn(h)
        if self.cross is not None:
            H, W = h.shape[-2:]
            tokens = self.cross(rearrange(h, "b c h w -> b (h w) c"), prompt.tokens, prompt.mask)
            h = rearrange(tokens, "b (h w) c -> b c h w", h=H, w=W)
        return self.out(h)


class UNet(Denoiser):
    # the lowest level on the way down, the bottleneck and its attention, a mid-resolution level on the
    # way up: 16 images x 50 steps fit in under 100 MB
    DEFAULT_TAPS = ("down.2", "mid", "mid.attn", "up.1", "mid.words")  # (mid.words: models that listen)

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = cfg = config
        ch = cfg.channels
        if cfg.image_size % 2 ** (len(ch) - 1):
            raise ValueError(f"image_size {cfg.image_size} must be divisible by 2^{len(ch) - 1} for {len(ch)} levels")
        emb_dim = 4 * ch[0]
        self.time = TimeEmbedding(ch[0], emb_dim, cfg.cond_dim)
        self.stem = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c = ch[0]
        for l, c_l in enumerate(ch):
            self.down.append(Level(c, c_l, cfg.blocks, emb_dim, cfg, l in cfg.attn_levels, f"down.{l}"))
            c = c_l
            if l < len(ch) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = Level(c, c, 2, emb_dim, cfg, attn=True, name="mid")
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for l in reversed(range(len(ch))):
            self.up.append(Level(c + ch[l], ch[l], cfg.blocks, emb_dim, cfg, l in cfg.attn_levels, f"up.{l}"))
            c = ch[l]
            if l > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.norm_out = nn.GroupNorm(cfg.groups, c)
        self.conv_out = zero_init(nn.Conv2d(c, cfg.in_channels, 3, padding=1))
        self.init_words()

    def conv_receptive_fields(self) -> dict[str, int]:
        """Side (pixels) of the input window each level's units see through convolutions alone,
        on the way down. Each 3x3 conv adds 2 x jump; each stride-2 downsampling doubles the jump.
        (Attention and GroupNorm let information travel further: the *effective* field differs.)"""
        rf, jump, out = 3, 1, {}  # the stem is one 3x3 conv
        for l in range(len(self.config.channels)):
            rf += self.config.blocks * 2 * 2 * jump  # two 3x3 convs per residual block
            out[f"down.{l}"] = rf
            if l < len(self.config.channels) - 1:
                rf += 2 * jump  # the stride-2 conv
                jump *= 2
        return out

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                prompt: Prompt | None = None) -> torch.Tensor:
        t = self.check_input(x_t, t)
        words = self.read_prompt(prompt, x_t.shape[0], x_t.device)  # None for a model that does not listen
        cond = self.read_description(cond, x_t.shape[0], x_t.device)  # a described model's (B, cond_dim)
        emb = self.time(t, words.pooled if words is not None else cond)  # (B, 4*C0)
        h = self.stem(x_t)  # (B, C0, H, W)
        skips = []
        for l, level in enumerate(self.down):
            h = level(h, emb, words)
            skips.append(h)
            if l < len(self.downsample):
                h = self.downsample[l](h)  # halve H, W
        h = self.mid(h, emb, words)
        for i, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), emb, words)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2, mode="nearest"))  # double H, W
        return self.eps_hat(self.conv_out(F.silu(self.norm_out(h))), x_t, t)  # (B, C, H, W)
