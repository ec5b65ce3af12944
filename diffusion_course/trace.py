"""Annotated sampling: listening inside the model at every step.

Taps are the named HookPoints of a denoiser (``model.tap_names()``). ``taps(model, names)``
attaches forward hooks inside a context manager and always removes them, even on error
(TransformerLens style); what the hooks saw is in the dict it yields.

    with taps(model, ["down.0", "mid.attn"]) as seen:
        model(x_t, t)
    seen["mid.attn"]          # (B, heads, 64, 64) attention probabilities

``receptive_field`` asks which input pixels a tapped unit can see, by taking its gradient.
Recording never imports ipywidgets; display lives in ``widgets`` and ``plotting``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

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
