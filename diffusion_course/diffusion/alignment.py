"""Representation alignment (REPA: Yu et al. 2024, "Representation Alignment for Generation").

An early block's tokens h_t (computed on the noisy x_t) are pulled, through a small trainable MLP h_phi, toward a
frozen encoder's spatial features y_* = f(x_0) of the *clean* picture, token by token:

    L_REPA = -1/N sum_n cos(h_phi(h_t[n]), y_*[n])          (eq. 2; averaged over the batch too)
    L = L_denoise + lambda L_REPA                            (eq. 3; REPA: lambda = 0.5, block 8 of 28)

so the transformer need not discover for itself what a picture holds before it can say how to clean it. Our
frozen encoder is the shipped scene judge's first three blocks (``judge_encoder``): (B, 3, 32, 32) ->
(B, 128, 8, 8), the 8 x 8 grid of the latent DiT; for another grid the features are pooled to the model's.
The encoder is frozen, trained by nothing and saved nowhere; the projector h_phi is trained beside the model and
kept in the run's state, never in the model (so neither the EMA nor sampling ever sees it). Alignment can be
switched off from ``TrainConfig.align_until``: it helps early and can hurt late.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import TrainConfig
from ..models import DiT, Judge
from ..models.dit import gather_pieces
from . import checkpoints, distributed


def judge_encoder(judge: Judge) -> tuple[nn.Module, int]:
    """The judge's body up to its third block, ``body[:5]``: (B, 3, s, s) -> (B, 4w, s/4, s/4), and 4w."""
    return judge.body[:5], 4 * judge.config.width


ENCODERS = {"judge": lambda device: judge_encoder(checkpoints.load_pretrained("judge", device))}


class Alignment:
    """REPA for one DiT: the frozen ``encoder`` (pictures (B, 3, H, W) in [-1, 1] -> features (B, ``channels``,
    h, w)) and the trainable projector h_phi from block ``block``'s tokens to those features."""

    def __init__(self, model: nn.Module, encoder: nn.Module, channels: int, block: int = 1):
        if not isinstance(model, DiT):
            raise ValueError(f"alignment pulls a DiT's tokens toward the encoder's; this model is a "
                             f"{model.config.kind}: use align=''")
        if not 0 <= block < model.config.depth:
            raise ValueError(f"align_block is a block of this DiT, 0 to {model.config.depth - 1}, got {block}")
        self.tap, self.grid = model.tap(f"block.{block}"), model.grid
        self.encoder = encoder.eval().requires_grad_(False)
        width = model.config.width  # REPA's h_phi: three layers of 2048; two of twice the width here
        self.projector = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, channels))

    def to(self, device: torch.device) -> Alignment:
        self.encoder.to(device)
        self.projector.to(device)
        return self

    @contextmanager
    def reading(self) -> Iterator[list[torch.Tensor]]:
        """A list that receives the aligned block's tokens (B, N, D) at each forward pass inside the block (a hook
        on its tap, removed on exit, even on error)."""
        tokens = []
        hook = self.tap.register_forward_hook(lambda module, args, out: tokens.append(out))
        try:
            yield tokens
        finally:
            hook.remove()

    @torch.no_grad()
    def features(self, pictures: torch.Tensor) -> torch.Tensor:
        """y_* = f(x_0): the frozen encoder's features of clean pictures (B, 3, H, W), one per token (B, N, C)."""
        if pictures.ndim != 4 or pictures.shape[1] != 3:
            raise ValueError(f"alignment reads clean pictures (B, 3, H, W), got {tuple(pictures.shape)}: a latent "
                             "model aligns on a LatentPool, which keeps the pictures it encoded")
        y = F.adaptive_avg_pool2d(self.encoder(pictures), self.grid)  # (B, C, grid, grid): pooled or repeated
        return rearrange(y, "b c h w -> b (h w) c")

    def loss(self, tokens: torch.Tensor, pictures: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """L_REPA = -mean over tokens and batch of cos(h_phi(h_t[n]), y_*[n]), for the tokens (B, N, D) of the
        block and the clean pictures (B, 3, H, W); with ``keep`` (B, K), masked training, the K kept tokens'."""
        y = self.features(pictures)  # (B, N, C)
        y = y if keep is None else gather_pieces(y, keep)
        return -F.cosine_similarity(self.projector(tokens.float()), y, dim=-1).mean()

    def share_grads(self, world: distributed.World) -> None:
        """Average the projector's gradients over the copies of a distributed run (DDP averages only the model's)."""
        for p in self.projector.parameters():
            if p.grad is not None:
                p.grad.copy_(world.mean(p.grad))


def aligned(cfg: TrainConfig, step: int) -> bool:
    """Whether training step ``step`` aligns: alignment is on and ``align_until`` has not come."""
    return bool(cfg.align) and (cfg.align_until == 0 or step < cfg.align_until)


def build(model: nn.Module, cfg: TrainConfig, device: torch.device) -> Alignment | None:
    """The alignment ``cfg.align`` names for ``model``, on ``device``; None when it names none."""
    if not cfg.align:
        return None
    if cfg.align not in ENCODERS:
        raise ValueError(f"align names the frozen encoder to align with: {', '.join(ENCODERS)} (or '' for none), "
                         f"got {cfg.align!r}")
    if getattr(model.config, "autoencoder", "") and (model.listens or model.described):
        raise ValueError("alignment of a latent model told what to draw is not built: train it with align=''")
    return Alignment(model, *ENCODERS[cfg.align](device), cfg.align_block).to(device)
