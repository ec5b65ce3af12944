"""Figures of notebook 07, the teacher's words: the tiny CLIP's similarity heatmap, its shared embedding space in
two dimensions, which pixels a caption looks at (saliency), and its scores on relation pairs (the word-swap test).
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ...images import to_uint8


def similarity_heatmap(sim: torch.Tensor, captions, images: torch.Tensor | None = None, title: str | None = None):
    """Cosine similarities (B, N) of B images and N captions as a heatmap: one column per image (drawn
    above it, given ``images`` (B, C, H, W)), one row per caption (written beside it). Where image i
    and caption i belong together they sit on the diagonal, outlined. Returns the figure."""
    sim = sim.detach().float().cpu()
    B, N = sim.shape
    fig, ax = plt.subplots(figsize=(0.42 * B + 6.5, 0.36 * N + 1.6))
    im = ax.imshow(sim.T.numpy(), cmap="viridis", extent=(-0.5, B - 0.5, N - 0.5, -0.5), aspect="equal")
    top = -0.5
    if images is not None:  # each image as a thumbnail at the head of its column
        for j, img in enumerate(images[:B]):
            ax.imshow(to_uint8(img), extent=(j - 0.45, j + 0.45, -0.6, -1.5), interpolation="nearest")
        top = -1.55
    for i in range(min(B, N)):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, ec="white", lw=1.2))
    ax.set_xlim(-0.5, B - 0.5)
    ax.set_ylim(N - 0.5, top)
    ax.set_xticks(range(B), [str(j) for j in range(B)], fontsize=7)
    ax.set_yticks(range(N), [f"{c} ({i})" for i, c in enumerate(captions)], fontsize=7)
    ax.set_xlabel("image")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="cosine similarity")
    ax.set_title(title or "each image (column) against each caption (row)", fontsize=10)
    return fig


def embedding_map(image_2d: torch.Tensor, text_2d: torch.Tensor, groups, title: str | None = None, ax=None):
    """Image and caption embeddings in two dimensions (e.g. their first two principal components), (n, 2)
    each, pair i being scene i and its caption: images as dots, captions as crosses, one colour per
    group (``groups[i]``, e.g. which objects scene i holds), each pair joined by a faint line. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5.5))
    image_2d, text_2d = image_2d.detach().float().cpu().numpy(), text_2d.detach().float().cpu().numpy()
    names = sorted(set(groups), key=lambda g: (g.count("+"), g))
    palette = plt.get_cmap("tab10" if len(names) <= 10 else "tab20").colors
    colours = dict(zip(names, palette))
    for (ix, iy), (tx, ty), g in zip(image_2d, text_2d, groups):
        ax.plot([ix, tx], [iy, ty], color=colours[g], lw=0.5, alpha=0.15)
    for g in names:
        mask = np.array([x == g for x in groups])
        ax.scatter(*image_2d[mask].T, s=14, color=colours[g], label=g)
        ax.scatter(*text_2d[mask].T, s=30, color=colours[g], marker="x", lw=1.2)
    ax.scatter([], [], s=14, color="black", label="an image")
    ax.scatter([], [], s=30, color="black", marker="x", label="a caption")
    ax.set(xlabel="first principal direction", ylabel="second principal direction")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    ax.set_title(title or "images and captions in one space", fontsize=10)
    return ax


def saliency_row(x: torch.Tensor, maps: dict, title: str | None = None, width: int = 26):
    """One image (C, H, W) and, beside it, one saliency map (H, W) per caption of ``maps``
    ({caption: map, brighter = the similarity depends more on that pixel}). Returns the figure."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.6 * (len(maps) + 1), 3.2))
    axes[0].imshow(to_uint8(x), interpolation="nearest")
    axes[0].set_title("the scene", fontsize=9)
    for ax, (caption, m) in zip(axes[1:], maps.items()):
        ax.imshow(m.detach().float().cpu().numpy(), cmap="magma", interpolation="nearest")
        ax.set_title("\n".join(textwrap.wrap(f"“{caption}”", width)), fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def relation_scores(results: dict, title: str | None = None, ax=None):
    """Grouped bars: for each model of ``results`` ({name: ``clip_measures.relation_pairs(...)``}) the share of
    caption pairs in which the image prefers its true caption to the one with a relation swapped, per
    relation and over all; chance (1 in 2) dotted. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.4))
    kinds = list(dict.fromkeys(k for r in results.values() for k in r))  # the relations, then "all"
    width = 0.8 / len(results)
    for j, (name, r) in enumerate(results.items()):
        xs = np.arange(len(kinds)) + (j - (len(results) - 1) / 2) * width
        bars = ax.bar(xs, [100 * r.get(k, np.nan) for k in kinds], width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.axhline(50, color="grey", ls=":", lw=1, label="chance")
    ax.set_xticks(range(len(kinds)), [k.replace("_", " ") for k in kinds])
    ax.set(ylim=(0, 109), ylabel="true caption preferred (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title or "the word-swap test: the true caption against the same words with one relation swapped",
                 fontsize=10)
    return ax
