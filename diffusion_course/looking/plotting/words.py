"""Figures of notebooks 07-08. The teacher's words (07): the tiny CLIP's similarity heatmap, its shared
embedding space in two dimensions, which pixels a caption looks at (saliency), and its scores on relation
pairs. Drawing from words (08): pictures beside maps (guidance gradients, word attention), drawings that
missed the prompt with what the judge read, and the composition scoreboard and guidance trade-off read
from ``bench``'s words results."""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ...images import to_uint8
from ...judging.scoreboard import by_scale
from ...scenes.words import SWAPS
from .teams import table


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
    """Grouped bars: for each model of ``results`` ({name: ``clip.relation_pairs(...)``}) the share of
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


# ----------------------------------------------------------------------------- notebook 08: drawing from words

def _shown(ax, value: torch.Tensor, cmap: str) -> None:
    """An image (C, H, W) in [-1, 1] as a picture, or a map (h, w) as a heatmap stretched over the same square."""
    value = value.detach().float().cpu()
    if value.ndim == 3:
        ax.imshow(to_uint8(value), interpolation="nearest")
    else:
        ax.imshow(value.numpy(), cmap=cmap, interpolation="nearest", vmin=0)
    ax.set_xticks([])
    ax.set_yticks([])


def panels(rows: dict, title: str | None = None, cmap: str = "magma", size: float = 2.0):
    """A grid of pictures and maps: ``{row label: {panel title: tensor}}``, each tensor an image (C, H, W)
    in [-1, 1] or a map (h, w) drawn as a heatmap (brighter = more) at the image's size. Panels are
    titled in the first row, and in any row whose titles differ from the first's. Returns the figure."""
    ncol = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), ncol, figsize=(size * ncol + 0.8, size * len(rows) + 0.5), squeeze=False)
    first = list(next(iter(rows.values())))
    for i, (ax_row, (label, row)) in enumerate(zip(axes, rows.items())):
        for ax, (name, value) in zip(ax_row, row.items()):
            _shown(ax, value, cmap)
            if i == 0 or list(row) != first:
                ax.set_title("\n".join(textwrap.wrap(name, 24)), fontsize=8)
        ax_row[0].set_ylabel(label, fontsize=9)
        for ax in ax_row[len(row):]:
            ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def word_maps(trace, tap: str, words, moments: dict, image: int = 0, title: str | None = None):
    """Which places of the picture listen to each of ``words`` (tokens of the prompt, e.g. ["pup", "rocket",
    "moon"]) in cross-attention tap ``tap`` of a ``Trace``, at each of ``moments`` ({label: recorded-step
    index}), beside the guess x0_hat at that step. Returns the figure."""
    tokens = trace.words(image)
    missing = [w for w in words if w not in tokens]
    if missing:
        raise ValueError(f"{missing} are not tokens of this prompt; its tokens: {tokens}")
    x0_hat = trace.frames("x0_hat", image)
    maps = {w: trace.frames(tap, image, tokens.index(w)) for w in words}  # (S, side, side) each
    rows = {f"{label}, t = {trace.t[i]}": {"x̂_0": x0_hat[i], **{f"“{w}”": m[i] for w, m in maps.items()}}
            for label, i in moments.items()}
    return panels(rows, title=title or f"{tap}: where the picture listens to each word (brighter: more)")


def listening(heard: dict, title: str | None = None):
    """Two panels from ``composition.listening`` per team ({team: its result}): left, how far each relation said
    the other way round moves each team's eps_hat (log scale); right, how alike the tiny CLIP finds the two
    sentences (cosine of their embeddings; 1: no difference heard). Returns the figure."""
    fig, (ax, cx) = plt.subplots(1, 2, figsize=(11, 2.8), gridspec_kw={"width_ratios": [3, 2]})
    relations = list(next(iter(heard.values())))
    ys, height = np.arange(len(relations)), 0.8 / len(heard)
    for j, (team, h) in enumerate(heard.items()):
        bars = ax.barh(ys + (j - (len(heard) - 1) / 2) * height, [h[r]["eps_change"] for r in relations], height,
                       label=team)
        ax.bar_label(bars, fmt="%.4f", fontsize=7, padding=2)
    ax.set_xscale("log")
    ax.set_yticks(ys, [" ↔ ".join(SWAPS[r][0]) for r in relations])  # "near ↔ far from"
    ax.invert_yaxis()
    ax.set_xlabel("how far eps_hat moves (root-mean-square, log scale)")
    ax.legend(fontsize=8, loc="lower right")
    cos = [next(iter(heard.values()))[r]["clip_cosine"] for r in relations]
    bars = cx.barh(ys, cos, 0.5, color="grey")
    cx.bar_label(bars, fmt="%.4f", fontsize=7, padding=2)
    cx.set_yticks(ys, [""] * len(relations))
    cx.invert_yaxis()
    cx.set(xlim=(0, 1.25), xlabel="the tiny CLIP: cosine of the two sentences")
    fig.suptitle(title or "one relation said the other way round: how much does each team hear it?", fontsize=10)
    fig.tight_layout()
    return fig


def readings_grid(x: torch.Tensor, readings, title: str, ncol: int = 8, limit: int = 16):
    """Drawings (N, C, H, W), each with what the judge read in it written underneath (e.g.
    ``composition.failures``: the drawings that missed a prompt, and their readings). Returns the figure."""
    n = min(len(x), limit)
    if n == 0:
        fig, ax = plt.subplots(figsize=(7, 0.8))
        ax.text(0.5, 0.5, f"{title}: none", ha="center", va="center", fontsize=10)
        ax.set_axis_off()
        return fig
    ncol = min(ncol, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.45 * ncol, 2.05 * nrow + 0.3), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            ax.imshow(to_uint8(x[k]), interpolation="nearest")
            ax.set_title("\n".join(textwrap.wrap(readings[k], 16)), fontsize=7, y=-0.02, va="top")
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=10)
    fig.tight_layout()
    return fig


KIND_NAMES = {"cfg": "classifier-free guidance (models that listen)",
              "clip": "CLIP guidance (unconditional models)"}


def _teams(scores) -> list[str]:
    return list(dict.fromkeys(s["team"] for s in scores))


def composition_table(words: dict, title: str | None = None):
    """``bench``'s composition scoreboard as coloured tables, one per kind of guidance: a row per team and
    prompt, a column per guidance scale, each cell "composition ±95 % interval" (in %), and the judge's
    ceiling, real scenes that satisfy the prompt, in the last column. Returns the figure."""
    scores, real = words["scores"], words.get("real", {})
    teams = _teams(scores)
    prompts = list(dict.fromkeys(s["prompt"] for s in scores))
    kinds = [k for k in ("cfg", "clip") if any(s["kind"] == k for s in scores)]
    labels = [f"{team.replace('Team ', '')}: {p}" for team in teams for p in prompts]
    widths = [len(words["scales"][k]) + 1 for k in kinds]
    fig, axes = plt.subplots(1, len(kinds), figsize=(0.85 * sum(widths) + 4.5, 0.32 * len(labels) + 1.6),
                             squeeze=False, gridspec_kw={"width_ratios": widths})
    for j, (ax, kind) in enumerate(zip(axes[0], kinds)):
        scales = words["scales"][kind]
        cell = {(s["team"], s["prompt"], s["scale"]): s for s in scores if s["kind"] == kind}
        grid = np.full((len(labels), len(scales) + 1), np.nan)
        for r, (team, p) in enumerate((t, p) for t in teams for p in prompts):
            for c, scale in enumerate(scales):
                s = cell.get((team, p, scale))
                if s is not None:
                    grid[r, c] = s["composition"]
                    ax.text(c, r, f"{100 * s['composition']:.0f} ±{100 * s['composition_ci']:.0f}", ha="center",
                            va="center", fontsize=6.5, color="white" if s["composition"] < 0.55 else "black")
            if p in real and not np.isnan(grid[r, :-1]).all():  # the ceiling of the prompts this kind was run on
                grid[r, -1] = real[p]
                ax.text(len(scales), r, f"{100 * real[p]:.0f}", ha="center", va="center", fontsize=6.5,
                        color="white" if real[p] < 0.55 else "black")
        ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.axvline(len(scales) - 0.5, color="white", lw=3)
        for r in range(len(prompts), len(labels), len(prompts)):
            ax.axhline(r - 0.5, color="white", lw=3)
        ax.set_xticks(range(len(scales) + 1), [f"{s:g}" for s in scales] + ["real"], fontsize=8)
        ax.set_yticks(range(len(labels)), labels if j == 0 else [], fontsize=7)
        ax.set_xlabel("guidance scale", fontsize=8)
        ax.set_title(KIND_NAMES[kind], fontsize=9)
        ax.tick_params(length=0)
    fig.suptitle(title or f"composition: % of {words['n']} drawings ({words['steps']} steps) in which the judge reads "
                          "everything the prompt says, ±95 % interval", fontsize=10)
    fig.tight_layout()
    return fig


def tradeoff(words: dict, title: str | None = None):
    """The trade-off of guidance, from ``bench``'s words results, averaged over each kind's prompts: composition
    (solid, with its 95 % band) and diversity (dashed) against the scale, for each team, one panel per kind
    of guidance; then composition against diversity, one curve per team and kind, from its smallest scale
    (open circle) up. Each team's best scale (``words["best"]``, ``["best_clip"]``) is starred. Returns the figure."""
    scores = words["scores"]
    teams = _teams(scores)
    colours = dict(zip(teams, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    best = {"cfg": words.get("best", {}), "clip": words.get("best_clip", {})}
    kinds = [k for k in ("cfg", "clip") if any(s["kind"] == k for s in scores)]
    prompts = {k: list(dict.fromkeys(s["prompt"] for s in scores if s["kind"] == k)) for k in kinds}
    fig, axes = plt.subplots(1, len(kinds) + 1, figsize=(5.2 * (len(kinds) + 1), 3.9))
    for ax, kind in zip(axes, kinds):
        for team in teams:
            curve = by_scale(scores, team, kind)
            if not curve:
                continue
            xs = list(curve)
            comp = np.array([v["composition"] for v in curve.values()])
            ci = np.array([v["composition_ci"] for v in curve.values()])
            ax.plot(xs, comp, "-o", ms=3, color=colours[team], label=f"{team}: composition")
            ax.fill_between(xs, comp - ci, comp + ci, color=colours[team], alpha=0.15, lw=0)
            ax.plot(xs, [v["diversity"] for v in curve.values()], "--", color=colours[team],
                    label=f"{team}: diversity")
            if team in best[kind] and best[kind][team]["scale"] in curve:
                ax.plot(best[kind][team]["scale"], curve[best[kind][team]["scale"]]["composition"], "*", ms=13,
                        color=colours[team])
        real = [words.get("real", {})[p] for p in prompts[kind] if p in words.get("real", {})]
        if real:
            ax.axhline(np.mean(real), color="grey", lw=1, label="composition of real scenes (the judge's ceiling)")
        ax.axhline(1, color="grey", lw=1, ls=":", label="diversity of real scenes")
        if max(words["scales"][kind]) > 20:
            ax.set_xscale("symlog", linthresh=10)
        ax.set(xlabel="guidance scale", ylabel="composition (share) · diversity (ratio)", ylim=(0, None))
        ax.set_xlim(left=0)
        n = len(prompts[kind])
        ax.set_title(f"{KIND_NAMES[kind]}\naveraged over {n} prompt{'s' if n > 1 else ''}", fontsize=9)
        ax.grid(alpha=0.3)
    ax = axes[-1]
    for kind, style in zip(kinds, ("-", ":")):
        for team in teams:
            curve = by_scale(scores, team, kind)
            if not curve:
                continue
            div = [v["diversity"] for v in curve.values()]
            comp = [v["composition"] for v in curve.values()]
            ax.plot(div, comp, style, marker=".", color=colours[team], label=f"{team}, {kind.upper()}")
            ax.plot(div[0], comp[0], "o", mfc="none", color=colours[team])
            for scale, d, c in zip(curve, div, comp):
                ax.annotate(f"{scale:g}", (d, c), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax.set(xlabel="diversity (ratio to real scenes)", ylabel="composition (share)")
    ax.set_title("the trade-off: more composition, less diversity", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title or f"guidance: {words['n']} drawings of {words['steps']} steps per team, prompt and scale; "
                          "stars: each team's best scale", fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def best_scales(words: dict) -> dict:
    """Print each team's best guidance scale of each kind (``bench``'s ``best`` and ``best_clip``: the highest
    composition averaged over the prompts among the scales that keep the diversity floor) with its composition
    (±95 %), recognisable rate, diversity and worst prompt; the judge's ceiling on real scenes last.
    Returns the rows."""
    rows = {}
    for kind, key in (("cfg", "best"), ("clip", "best_clip")):
        for team, b in words.get(key, {}).items():
            ci = by_scale(words["scores"], team, kind).get(b["scale"], {}).get("composition_ci", float("nan"))
            rows[f"{team}, {kind.upper()} × {b['scale']:g}"] = {
                "composition": f"{b['composition']:.0%} ±{ci:.0%}", "recognisable": f"{b['recognisable']:.0%}",
                "diversity": f"{b['diversity']:.2f}",
                "worst prompt": f"{b['worst_prompt']} ({b['worst_composition']:.0%})"}
    if words.get("real"):
        real = list(words["real"].values())
        rows["real scenes (the judge's ceiling)"] = {"composition": f"{np.mean(real):.0%}", "recognisable": "",
                                                     "diversity": "1.00", "worst prompt": ""}
    table(rows)
    return rows
