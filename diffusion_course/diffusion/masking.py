"""Masked training (MaskDiT: Zheng et al. 2023, "Fast Training of Diffusion Models with Masked Transformers").

Each training image drops a random share ``mask_ratio`` of its N puzzle pieces: the DiT reads only the K kept
tokens, K = round((1 - mask_ratio) N), so at MaskDiT's 0.5 a step costs about half the attention and MLP FLOPs,
and the denoising loss is read only on the pixels of kept pieces (the model never saw the rest):

    loss = w(t) sum_i m_i (eps_i - eps_theta(x_t, t, keep)_i)^2 / sum_i m_i,   m = 1 on kept pixels

The paper adds an MAE decoder that reconstructs the dropped pieces, not done here, and ends with a short unmasked
fine-tune that closes the gap between masked training and unmasked sampling: ``mask_until``, the step from which
training runs unmasked (0: masked to the end).
"""
from __future__ import annotations

import torch

from ..config import TrainConfig
from ..models.dit import DiT


def check(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """A clear ``ValueError`` if ``cfg`` masks a model that cannot drop pieces or masks by a share out of range."""
    if not 0 <= cfg.mask_ratio < 1:
        raise ValueError(f"mask_ratio is the share of pieces dropped, in [0, 1) (MaskDiT: 0.5), got {cfg.mask_ratio}")
    if cfg.mask_ratio and not isinstance(model, DiT):
        raise ValueError(f"mask_ratio drops a DiT's puzzle pieces; this model is a {model.config.kind}: use 0")
    if cfg.mask_until < 0:
        raise ValueError(f"mask_until is the step from which training runs unmasked (0: never), got {cfg.mask_until}")


def masked(cfg: TrainConfig, step: int) -> bool:
    """Whether training step ``step`` drops pieces: masking is on and the unmasked tail has not begun."""
    return cfg.mask_ratio > 0 and (cfg.mask_until == 0 or step < cfg.mask_until)


def draw_keep(cfg: TrainConfig, step: int, batch: int, model: DiT, generator: torch.Generator) -> torch.Tensor | None:
    """The pieces each of ``batch`` images keeps at training step ``step``, K = round((1 - mask_ratio) N) of the
    model's N drawn uniformly without replacement: (B, K) long; None when the step is unmasked (then nothing is
    drawn from ``generator``, so an unmasked run stays what it was before masking existed)."""
    if not masked(cfg, step):
        return None
    n = model.grid ** 2
    return torch.rand(batch, n, generator=generator).argsort(dim=1)[:, :max(1, round((1 - cfg.mask_ratio) * n))]


def kept_pixels(keep: torch.Tensor, grid: int, patch: int) -> torch.Tensor:
    """(B, K) kept pieces on a grid x grid of patch x patch pieces -> (B, 1, H, W): 1 on their pixels, 0 elsewhere."""
    pieces = torch.zeros(keep.shape[0], grid * grid, device=keep.device).scatter_(1, keep, 1.0)
    return pieces.view(-1, 1, grid, grid).repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)


def mean_over_kept(sq: torch.Tensor, keep: torch.Tensor, model: DiT) -> torch.Tensor:
    """Per-image mean of ``sq`` (B, C, H, W) over the pixels of the ``model``'s kept pieces ``keep`` only: (B,)."""
    m = kept_pixels(keep, model.grid, model.config.patch)  # (B, 1, H, W)
    return (sq * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * sq.shape[1])
