"""Matplotlib figures: grids, filmstrips, curves and heatmaps. Display only: nothing here changes data.

Pixels (uint8 conversion, grids, PNGs) live in ``images``; this module lays them out in figures.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from . import schedules
from .images import grid, save_grid, to_uint8  # noqa: F401  (save_grid re-exported for the CLI)


def show_grid(x: torch.Tensor, nrow: int | None = None, title: str | None = None, ax=None, captions=None):
    """Show a batch as a grid in a matplotlib figure; returns the axes."""
    if ax is None:
        n = nrow or int(np.ceil(np.sqrt(len(x))))
        _, ax = plt.subplots(figsize=(min(12, 1.3 * n + 1), min(12, 1.3 * np.ceil(len(x) / n) + 0.6)))
    ax.imshow(grid(x, nrow), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_patches(x: torch.Tensor, patch: int, title: str | None = None, ax=None, highlight=None):
    """One image (C, H, W) cut into ``patch`` x ``patch`` puzzle pieces: the image with the
    patch grid drawn over it, and an optional (row, col) piece outlined; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    H, W = x.shape[-2:]
    ax.imshow(to_uint8(x), interpolation="nearest")
    for k in range(patch, max(H, W), patch):  # pixel edges sit at half-integers in imshow
        if k < W:
            ax.axvline(k - 0.5, color="white", lw=0.6, alpha=0.7)
        if k < H:
            ax.axhline(k - 0.5, color="white", lw=0.6, alpha=0.7)
    if highlight is not None:
        r, c = highlight
        ax.add_patch(Rectangle((c * patch - 0.5, r * patch - 0.5), patch, patch, fill=False, ec="yellow", lw=2))
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_schedules(names=("linear", "cosine"), T: int = 1000):
    """alpha_bar_t and log-SNR(t) of each schedule, side by side; returns the figure."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    for name in names:
        s = schedules.get(name, T)
        a.plot(s.alpha_bar.numpy(), label=name)
        b.plot(10 * torch.log10(s.snr).numpy(), label=name)
    a.set(xlabel="step t", ylabel="ᾱ_t (share of the drawing's variance left)", title="How much drawing is left")
    b.set(xlabel="step t", ylabel="SNR(t) in dB", title="Signal-to-noise ratio")
    b.axhline(0, color="grey", lw=0.8, ls="--")
    b.set_ylim(-50, 45)  # the cosine schedule plunges at the very last step (beta clipped at 0.999)
    for ax in (a, b):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def filmstrip(frames: torch.Tensor, labels=None, title: str | None = None, ax=None):
    """A row of images (N, C, H, W) in [-1, 1], each with an optional label underneath."""
    n = len(frames)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.4 * n, 1.9))
    ax.imshow(grid(frames, nrow=n, pad=2, pad_value=255), interpolation="nearest")
    ax.set_axis_off()
    if labels is not None:
        H = frames.shape[-1]
        for i, lab in enumerate(labels):
            ax.text(2 + i * (H + 2) + H / 2, H + 4, str(lab), ha="center", va="top", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def loss_curve(losses, window: int = 25, ax=None, title: str = "training loss"):
    """Raw loss per step (faint) and its moving average (bold), on a log scale."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    y = np.asarray(losses, dtype=float)
    ax.plot(y, alpha=0.3, lw=0.8, label="per step")
    if len(y) >= window:
        ax.plot(np.arange(window - 1, len(y)), np.convolve(y, np.ones(window) / window, "valid"), lw=2,
                label=f"mean of {window}")
    ax.set(yscale="log", xlabel="step", ylabel="weighted MSE on the noise", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def rows(named: dict, labels=None, title: str | None = None):
    """One filmstrip per entry of ``{row title: (N, C, H, W)}``, stacked; returns the figure."""
    n = max(len(v) for v in named.values())
    fig, axes = plt.subplots(len(named), 1, figsize=(min(14, 1.4 * n + 1), 1.9 * len(named)), squeeze=False)
    for ax, (name, frames) in zip(axes[:, 0], named.items()):
        filmstrip(frames, labels=labels, title=name, ax=ax)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def quality_curves(teams: dict, budget: str = "minutes", key: str = "recognisable_rate", ax=None):
    """Quality against training budget for each team of ``bench``'s head-to-head: ``budget``
    "minutes" (CPU minutes = steps x measured step time) or "pflop" (training FLOPs)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, t in teams.items():
        if "skipped" in t:
            continue
        per_step = t["train_seconds_per_step"] / 60 if budget == "minutes" else t["train_gflop_per_step"] / 1e6
        steps = [p["step"] for p in t["curve"]]
        xs = [s * per_step for s in steps]
        ys = [p[key] * (100 if key == "recognisable_rate" else 1) for p in t["curve"]]
        line, = ax.plot(xs, ys, "o", ms=3, label=f"{t['team']} ({name})")
        for i in range(len(xs) - 1):  # probes far apart: dotted, nothing was measured in between
            ax.plot(xs[i:i + 2], ys[i:i + 2], color=line.get_color(), ls="-" if steps[i + 1] - steps[i] <= 1000 else ":")
    ax.set_xlabel("training CPU minutes" if budget == "minutes" else "training PFLOP")
    ax.set_ylabel("recognisable (%)" if key == "recognisable_rate" else key.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax
