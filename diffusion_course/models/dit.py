"""Team Transformers: a small Diffusion Transformer (DiT, Peebles & Xie 2023) — puzzle patchers.

The image is cut into p x p patches (puzzle pieces), each becomes a token plus a position
embedding (``DiTConfig.positions``: learned from data, or DiT's fixed 2-D sines and cosines),
and every block lets every token compare itself with every other (self-attention). The step t
conditions each block through adaLN-zero: a LayerNorm whose shift, scale and residual gate are
predicted from the time embedding, with the gate initialised to zero so that a fresh block is the
identity.

Optional long skips between shallow and deep blocks (U-ViT, Bao et al. 2023) help small
transformers at this scale. An optional conv stem (``DiTConfig.stem``, "early convolutions", Xiao et
al. 2021) lets each piece start from pixels that have seen across its edges, where plain DiT reads
every piece on its own and only attention can make neighbouring pieces agree.

Taps (each block names its own, see ``tap_kinds()``):
    "block.{i}"       tokens after block i (N = (H/p)^2 on the patch grid) (B, N, D)          tokens
    "block.{i}.attn"  attention probabilities of block i                  (B, heads, N, N)   attention
    "block.{i}.words" (models that listen) cross-attention to the prompt  (B, heads, N, L)   words

A model that listens reads the prompt as PixArt-alpha's DiT does (Chen et al. 2023): cross-attention to
the caption's tokens after each block's self-attention, and the pooled caption added to the time
embedding that drives adaLN.

Masked training (MaskDiT, Zheng et al. 2023; ``diffusion.masking``): ``model(x_t, t, keep=keep)`` reads only the
kept pieces (B, K), so every block, long skip and tap sees K tokens instead of N, and the dropped pieces come
out as zeros (the trainer reads its loss on the kept pixels only).
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ..config import DiTConfig
from ..words.prompts import Prompt
from .base import Denoiser
from .layers import Attention, CrossAttention, HookPoint, TimeEmbedding, grid_embedding, zero_init


def gather_pieces(tokens: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(B, N, D) tokens, (B, K) kept pieces -> (B, K, D): the kept pieces' tokens, in the order of ``keep``."""
    return tokens.gather(1, keep[..., None].expand(-1, -1, tokens.shape[-1]))


def scatter_pieces(tokens: torch.Tensor, keep: torch.Tensor, n: int) -> torch.Tensor:
    """(B, K, D) kept pieces' tokens -> (B, n, D): each back in its place on the grid, zeros where dropped."""
    index = keep[..., None].expand(-1, -1, tokens.shape[-1])
    return tokens.new_zeros(tokens.shape[0], n, tokens.shape[-1]).scatter(1, index, tokens)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x * (1 + scale) + shift, per image (B, 1, D) over tokens (B, N, D)."""
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """Attention and MLP, each wrapped in adaLN-zero modulation from the conditioning vector."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, name: str, context_dim: int = 0):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(width, heads, tap=f"{name}.attn")
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        # adaLN-zero: all gates start at 0, the block is the identity
        self.ada = nn.Sequential(nn.SiLU(), zero_init(nn.Linear(width, 6 * width)))
        self.cross = CrossAttention(width, context_dim, heads, tap=f"{name}.words") if context_dim else None
        self.out = HookPoint(name, "tokens")

    def forward(self, x: torch.Tensor, c: torch.Tensor, prompt: Prompt | None = None) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(c).chunk(6, dim=-1)  # each (B, D)
        x = x + gate1[:, None] * self.attn(modulate(self.norm1(x), shift1, scale1))
        if self.cross is not None:
            x = self.cross(x, prompt.tokens, prompt.mask)
        return self.out(x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2)))


class DiT(Denoiser):
    def __init__(self, config: DiTConfig = DiTConfig()):
        super().__init__()
        self.config = cfg = config
        if cfg.image_size % cfg.patch:
            raise ValueError(f"image_size {cfg.image_size} is not divisible by patch {cfg.patch}")
        self.grid = cfg.image_size // cfg.patch
        if cfg.stem < 0:
            raise ValueError(f"stem is a number of channels (0: no conv stem), got {cfg.stem}")
        n_tokens, patch_dim = self.grid ** 2, cfg.patch ** 2 * cfg.in_channels
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, cfg.stem, 3, padding=1), nn.GELU(approximate="tanh")) \
            if cfg.stem else None
        self.embed = nn.Linear(cfg.patch ** 2 * (cfg.stem or cfg.in_channels), cfg.width)
        if cfg.positions == "learned":
            self.pos = nn.Parameter(torch.randn(1, n_tokens, cfg.width) * 0.02)
        elif cfg.positions == "sincos":  # fixed, so not saved: every model of this shape computes the same table
            self.register_buffer("pos", grid_embedding(self.grid, cfg.width)[None], persistent=False)
        else:
            raise ValueError(f"positions is 'learned' or 'sincos', got {cfg.positions!r}")
        self.time = TimeEmbedding(cfg.width, cfg.width, cfg.cond_dim)
        self.blocks = nn.ModuleList(DiTBlock(cfg.width, cfg.heads, cfg.mlp_ratio, f"block.{i}", cfg.context_dim)
                                    for i in range(cfg.depth))
        # U-ViT long skips: deep block i receives shallow block depth-1-i's tokens
        self.skips = nn.ModuleList(nn.Linear(2 * cfg.width, cfg.width) for _ in range(cfg.depth // 2)) \
            if cfg.long_skips else None
        self.norm_out = nn.LayerNorm(cfg.width, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(cfg.width, 2 * cfg.width))
        self.unembed = nn.Linear(cfg.width, patch_dim)
        for layer in (self.ada_out[1], self.unembed):  # the model starts by predicting eps_hat = 0
            zero_init(layer)
        self.conv_out = nn.Conv2d(cfg.in_channels, cfg.in_channels, 3, padding=1) if cfg.conv_out else None
        if self.conv_out is not None:
            nn.init.zeros_(self.conv_out.bias)  # no offset: a fresh model still predicts eps_hat = 0
        # the middle block's tokens and attention, and the last block's
        mid, last = cfg.depth // 2, cfg.depth - 1
        self.DEFAULT_TAPS = tuple(dict.fromkeys(  # (one block, when the middle one is the last)
            (f"block.{mid}", f"block.{mid}.attn", f"block.{last}", f"block.{last}.attn", f"block.{mid}.words")))
        self.init_words()

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, p*p*C): cut into puzzle pieces, row by row."""
        p = self.config.patch
        return rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p, p2=p)

    def read_pieces(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, D): each puzzle piece as a token, through the conv stem if there is one."""
        return self.embed(self.patchify(self.stem(x) if self.stem is not None else x))

    def unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, p*p*C) -> (B, C, H, W): put the pieces back."""
        p = self.config.patch
        return rearrange(tokens, "b (h w) (p1 p2 c) -> b c (h p1) (w p2)", h=self.grid, p1=p, p2=p)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                prompt: Prompt | None = None, keep: torch.Tensor | None = None) -> torch.Tensor:
        """eps_hat (B, C, H, W). ``keep`` (B, K) long, masked training: read only these pieces (None: all).

        Dropped pieces come out as zeros before ``conv_out``, which mixes each pixel with its neighbours: in training
        it sees zeros beside a dropped piece where at sampling it sees the model's output there (at patch <= 2 every
        pixel borders another piece, half of them dropped). The trainer reads the loss on kept pixels only, which no
        input of a dropped piece reaches (but a conv ``stem`` reads one pixel across each piece's edge). The
        unmasked tail, ``TrainConfig.mask_until``, closes this gap as it closes the transformer's own: K tokens in
        training, N at sampling."""
        t = self.check_input(x_t, t)
        words = self.read_prompt(prompt, x_t.shape[0], x_t.device)  # None for a model that does not listen
        cond = self.read_description(cond, x_t.shape[0], x_t.device)  # a described model's (B, cond_dim)
        c = self.time(t, words.pooled if words is not None else cond)  # (B, D)
        x = self.read_pieces(x_t) + self.pos  # (B, N, D)
        if keep is not None:
            x = gather_pieces(x, keep)  # (B, K, D)
        saved, half = [], self.config.depth // 2
        for i, block in enumerate(self.blocks):
            if self.skips is not None and i >= self.config.depth - half:
                x = self.skips[self.config.depth - 1 - i](torch.cat([x, saved.pop()], dim=-1))
            x = block(x, c, words)
            if self.skips is not None and i < half:
                saved.append(x)
        shift, scale = self.ada_out(c).chunk(2, dim=-1)
        pieces = self.unembed(modulate(self.norm_out(x), shift, scale))  # (B, N or K, p*p*C)
        out = self.unpatchify(pieces if keep is None else scatter_pieces(pieces, keep, self.grid ** 2))  # (B, C, H, W)
        return self.eps_hat(out + self.conv_out(out) if self.conv_out is not None else out, x_t, t)
