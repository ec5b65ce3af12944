"""Taps: listening inside a model as it runs.

Taps are the named HookPoints of a denoiser (``model.tap_kinds()``, ``models/layers.py``). ``taps(model, names)``
attaches forward hooks inside a context manager and always removes them, even on error (TransformerLens style);
what the hooks saw is in the dict it yields.

    with taps(model, ["down.0", "mid.attn"]) as seen:
        model(x_t, t)
    seen["mid.attn"]          # (B, heads, 64, 64) attention probabilities

``tap_shapes`` says what each tap holds per image; ``receptive_field`` asks which input pixels a tapped unit can
see, by taking its gradient; ``attention_distance`` how far, on average, attention reaches across the token grid
(Dosovitskiy et al. 2021). ``trace.annotate`` records taps at every step of a sampling run.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def taps(model, names, detach: bool = True, to: torch.dtype | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of the named taps for every forward pass inside the block.

    Each forward pass overwrites the previous one's entries. ``to`` converts on the way
    (e.g. ``torch.float16`` storage on the CPU); ``detach=False`` keeps the graph.
    """
    names = list(names)
    unknown = [n for n in names if n not in model.tap_names()]
    if unknown:
        raise KeyError(f"unknown taps {unknown}; {type(model).__name__} has: {', '.join(model.tap_names())}")
    seen: dict[str, torch.Tensor] = {}

    def hook_for(name):
        def hook(_module, _inputs, output):
            out = output.detach() if detach else output
            seen[name] = out.to(device="cpu", dtype=to) if to is not None else out
        return hook

    handles = []
    try:
        for n in names:
            handles.append(model.tap(n).register_forward_hook(hook_for(n)))
        yield seen
    finally:
        for h in handles:
            h.remove()


def tap_shapes(model, names, image_shape) -> dict[str, tuple[int, ...]]:
    """Per-image output shape of each tap, from one forward pass on a single image."""
    device = next(model.parameters()).device
    with torch.no_grad(), taps(model, names) as seen:
        model(torch.zeros(1, *image_shape, device=device), torch.zeros(1, dtype=torch.long, device=device))
    return {n: tuple(seen[n].shape[1:]) for n in names}


def receptive_field(model, tap: str, x_t: torch.Tensor, t: int, at: tuple[int, int] | None = None) -> torch.Tensor:
    """|d feature / d x_t| for the unit at spatial position ``at`` (default: the centre) of a
    feature tap, summed over channels: (H, W) map of which input pixels it can see."""
    x = x_t[:1].detach().clone().requires_grad_(True)
    with taps(model, [tap], detach=False) as seen:
        model(x, torch.tensor([t]))
    feat = seen[tap]
    if feat.ndim != 4:
        raise ValueError(f"tap {tap!r} is not a feature map (shape {tuple(feat.shape)}); pick a feature tap")
    h, w = feat.shape[-2:]
    i, j = at if at is not None else (h // 2, w // 2)
    feat[0, :, i, j].abs().sum().backward()
    return x.grad[0].abs().sum(0)


def attention_distance(probs: torch.Tensor) -> torch.Tensor:
    """Mean distance, in tokens of the square grid, between a query and the keys it attends to,
    weighted by the attention probabilities (Dosovitskiy et al. 2021's "attention distance").
    probs (..., N, N) -> (...,), averaged over queries. Uniform attention over a 16x16 grid gives
    about 8.3; a token attending only to itself gives 0."""
    n = probs.shape[-1]
    side = math.isqrt(n)
    if side * side != n or probs.shape[-2] != n:
        raise ValueError(f"expected attention over a square grid of tokens (..., N, N), got {tuple(probs.shape)}")
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    pos = torch.stack([rows.flatten(), cols.flatten()], dim=-1).float()  # (N, 2)
    dist = torch.cdist(pos, pos)  # (N, N) Euclidean distance between grid cells
    return (probs.float() * dist).sum(-1).mean(-1)
