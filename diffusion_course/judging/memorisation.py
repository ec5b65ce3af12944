"""Memorisation: does a generator hand back its training pictures? Nearest neighbours in pixel space.

Each drawing's nearest training image (L2 over pixels, the pool read a chunk at a time, uint8 as pools store it),
against a real baseline: how close *fresh* real scenes come to the training set. A drawing much closer than that
is a copy (Carlini et al. 2023 ask the same of large diffusion models). The judge is not needed: a copy is a copy
whatever it shows. ``check_several`` refuses image sets too small, or of different sizes, to measure distances
between (``metrics.diversity`` uses it too).
"""
from __future__ import annotations

import torch

from ..images import dequantize
from ..scenes import check_images


def check_several(**sets: torch.Tensor) -> None:
    """Refuse image sets with fewer than two images, or sets of different picture sizes, saying what is needed."""
    for name, x in sets.items():
        if not torch.is_tensor(x) or x.ndim != 4 or len(x) < 2:
            got = f"{len(x)} image(s)" if torch.is_tensor(x) and x.ndim == 4 else \
                f"shape {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{name} needs at least two images (B >= 2, 3, H, W) to measure distances between, "
                             f"got {got}")
    sizes = {name: tuple(x.shape[1:]) for name, x in sets.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the image sets must have the same picture size to be compared, got {sizes}; "
                         "resize one set (e.g. torch.nn.functional.interpolate) or draw them at one size")


def nearest(x: torch.Tensor, pool: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image of ``x``'s nearest neighbour in ``pool`` (pixel-space L2): (distances (B,), indices (B,)).
    ``pool`` may be float images in [-1, 1] or uint8 (a training pool as stored); it is read ``chunk`` images at
    a time, so a pool of 40,000 scenes never sits in memory as floats."""
    xf = x.flatten(1).float()
    best, where = torch.full((len(x),), float("inf")), torch.zeros(len(x), dtype=torch.long)
    for j in range(0, len(pool), chunk):
        part = pool[j:j + chunk]
        part = dequantize(part) if part.dtype == torch.uint8 else part
        d, i = torch.cdist(xf, part.flatten(1).float()).min(dim=1)
        closer = d < best
        best, where = torch.where(closer, d, best), torch.where(closer, i + j, where)
    return best, where


def nearest_distances(x: torch.Tensor, pool: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Pixel-space L2 distance from each image of ``x`` to its nearest neighbour in ``pool``."""
    return nearest(x, pool, batch)[0]


MEMORISED_FACTOR = 0.25  # closer to a training image than this share of the real baseline: a copy


def memorisation(x: torch.Tensor, train: torch.Tensor, reference: torch.Tensor,
                 factor: float = MEMORISED_FACTOR) -> dict:
    """How close samples sit to the training set, against the real-to-training baseline.

    A sample is flagged as memorised when its nearest training image is closer than ``factor``
    times the median distance at which *fresh* real scenes find their nearest training image.
    Misleads with pixel distance's blind spots (a shifted copy is far in pixels). A model trained with
    random flips has also seen each training image mirrored: pass ``train`` with its mirror images (float in
    [-1, 1], or uint8 as a pool stores them).
    ``flagged`` marks each memorised sample, ``nearest`` its nearest training image (indices into ``train``)."""
    check_several(samples=x, training_set=train, reference=reference)
    for imgs in (x, reference) if train.dtype == torch.uint8 else (x, train, reference):
        check_images(imgs, imgs.shape[-1])
    d, idx = nearest(x, train)
    base = nearest_distances(reference, train).median()
    flagged = d < factor * base
    return {"median_nn_ratio": float(d.median() / base), "memorised_fraction": float(flagged.float().mean()),
            "flagged": flagged, "nearest": idx, "distance_ratio": d / base}
