"""Building blocks shared by the denoisers: time embedding, residual block, attention,
and ``HookPoint`` — the named place where the annotated sampler listens.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

TAP_KINDS = ("features", "attention", "tokens")


class HookPoint(nn.Identity):
    """An identity layer that marks an activation worth recording (TransformerLens style).

    ``name`` is the tap's stable name (``"down.1"``, ``"block.3.attn"``) and ``kind`` says how to read it:
    ``"features"`` (B, C, h, w) feature maps, ``"attention"`` (B, heads, queries, keys) probabilities,
    ``"tokens"`` (B, N, D) token vectors on a square grid. A model finds its taps by walking its own
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


class TimeEmbedding(nn.Module):
    """t (B,) -> sinusoidal features -> MLP -> (B, dim); adds an optional condition vector."""

    def __init__(self, base: int, dim: int, cond_dim: int = 0):
        super().__init__()
        self.base = base
        self.mlp = nn.Sequential(nn.Linear(base, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.cond = nn.Linear(cond_dim, dim) if cond_dim else None

    def forward(self, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(timestep_embedding(t, self.base))
        if cond is not None:
            if self.cond is None:
                raise ValueError("this model is unconditional (cond_dim=0) but a condition was passed")
            emb = emb + self.cond(cond)
        return emb


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, with the time embedding added in between, plus a skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity (its skip)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
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
        nn.init.zeros_(self.attn.proj.weight)  # starts as the identity
        nn.init.zeros_(self.attn.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        tokens = rearrange(self.norm(x), "b c h w -> b (h w) c")
        h = rearrange(self.attn(tokens), "b (h w) c -> b c h w", h=H, w=W)
        return x + h
