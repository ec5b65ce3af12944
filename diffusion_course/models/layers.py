"""Building blocks shared by the denoisers: time embedding, residual block, attention,
and ``HookPoint`` — the named place where the annotated sampler listens.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

TAP_KINDS = ("features", "attention", "tokens", "words")


class HookPoint(nn.Identity):
    """An identity layer that marks an activation worth recording (TransformerLens style).

    ``name`` is the tap's stable name (``"down.1"``, ``"block.3.attn"``) and ``kind`` says how to read it:
    ``"features"`` (B, C, h, w) feature maps, ``"attention"`` (B, heads, queries, keys) probabilities,
    ``"tokens"`` (B, N, D) token vectors on a square grid, ``"words"`` (B, heads, queries, L) cross-attention
    probabilities from the image's grid to the prompt's L tokens. A model finds its taps by walking its own
    module tree (``Denoiser.taps``); forward hooks attached here (by ``trace``) see the activation.
    """

    def __init__(self, name: str, kind: str = "features"):
        super().__init__()
        if kind not in TAP_KINDS:
            raise ValueError(f"unknown tap kind {kind!r}; choose one of {TAP_KINDS}")
        self.name, self.kind = name, kind

    def extra_repr(self) -> str:
        return f"{self.name!r}, kind={self.kind!r}"


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps t (B,) -> (B, dim) (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def grid_embedding(side: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sinusoidal positions of a side x side grid, row by row -> (side * side, dim): half the numbers
    say the row, half the column (DiT, Peebles & Xie 2023), so neighbouring places start out alike."""
    if dim % 4:
        raise ValueError(f"2-D sine-cosine positions need a width divisible by 4, got {dim}")
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    return torch.cat([timestep_embedding(rows.flatten(), dim // 2), timestep_embedding(cols.flatten(), dim // 2)], -1)


def zero_init(layer: nn.Linear | nn.Conv2d) -> nn.Module:
    """Zero a layer's weight and bias, so the residual branch it ends starts as nothing (the block is the identity)."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class TimeEmbedding(nn.Module):
    """t (B,) -> sinusoidal features -> MLP -> (B, dim); adds an optional condition vector."""

    def __init__(self, base: int, dim: int, cond_dim: int = 0):
        super().__init__()
        self.base = base
        self.mlp = nn.Sequential(nn.Linear(base, dim), nn.SiLU(), nn.Linear(dim, dim))
        # the condition starts switched off, so a model fine-tuned from an unconditional one starts as it
        self.cond = zero_init(nn.Linear(cond_dim, dim)) if cond_dim else None

    def forward(self, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(timestep_embedding(t, self.base))
        if cond is not None:
            if self.cond is None:
                raise ValueError("this model is unconditional (cond_dim=0) but a condition was passed")
            emb = emb + self.cond(cond)
        return emb


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, with the time embedding added in between, plus a skip.
    ``emb_dim=0``: a block that knows no time (the autoencoder's), called without ``emb``."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out) if emb_dim else None
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = zero_init(nn.Conv2d(c_out, c_out, 3, padding=1))  # each block starts as the identity (its skip)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
        if self.emb is not None:
            h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over a set of tokens (B, N, D).

    The attention probabilities softmax(q k^T / sqrt(d)) pass through ``self.probs``,
    a HookPoint named ``tap``, so they can be recorded as (B, heads, N, N).
    """

    def __init__(self, dim: int, heads: int, tap: str):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.probs = HookPoint(tap, "attention")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.heads)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, h, N, N)
        attn = self.probs(scores.softmax(dim=-1))
        out = rearrange(attn @ v, "b h n d -> b n (h d)")
        return self.proj(out)


class SpatialAttention(nn.Module):
    """Self-attention over the pixels of a feature map, with a residual connection."""

    def __init__(self, channels: int, heads: int, groups: int, tap: str):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = Attention(channels, heads, tap)
        zero_init(self.attn.proj)  # starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        tokens = rearrange(self.norm(x), "b c h w -> b (h w) c")
        h = rearrange(self.attn(tokens), "b (h w) c -> b c h w", h=H, w=W)
        return x + h


class CrossAttention(nn.Module):
    """Each position of the image grid (a query) reads the prompt's tokens (keys and values), with a
    residual connection: how Stable Diffusion's U-Net (Rombach et al. 2022) and PixArt-alpha's DiT
    listen to words.

    x (B, N, D) on the image's grid; ``context`` (B, L, D_ctx), the frozen text encoder's token vectors;
    ``mask`` (B, L), True for the prompt's real tokens (start, words, end), False for padding. The
    probabilities softmax(q k^T / sqrt(d)) over the real tokens pass through ``self.probs``, a "words"
    HookPoint: (B, heads, N, L), each row summing to 1 — which word each place of the picture listens to.
    The output projection starts at zero, so a new cross-attention layer starts as the identity.
    """

    def __init__(self, dim: int, context_dim: int, heads: int, tap: str):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = zero_init(nn.Linear(dim, dim))
        self.probs = HookPoint(tap, "words")

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q = rearrange(self.q(self.norm(x)), "b n (h d) -> b h n d", h=self.heads)
        k, v = rearrange(self.kv(context.to(x.dtype)), "b l (two h d) -> two b h l d", two=2, h=self.heads)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, h, N, L)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))  # padding is never read
        attn = self.probs(scores.softmax(dim=-1))
        return x + self.proj(rearrange(attn @ v, "b h n d -> b n (h d)"))
