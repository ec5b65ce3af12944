"""Figures of notebook 08, drawing from words: pictures beside maps (guidance gradients, word attention), how far
each relation said the other way round moves a model, drawings that missed the prompt with what the judge read,
and the composition scoreboard and guidance trade-off read from ``bench``'s words results.
"""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch

from ...images import to_uint8
from ...judging.scoreboard import best_spans, by_scale, wilson
from ...scenes.words import SWAPS
from .teams import table


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


def _drawings(words: dict) -> str:
    """How many drawings a cell holds, in words: CLIP-guided cells may hold fewer (``clip_n``)."""
    clip_n = words.get("clip_n", words["n"])
    kinds = {s["kind"] for s in words["scores"]}
    if clip_n == words["n"] or "clip" not in kinds:
        return f"{words['n']} drawings"
    return f"{words['n']} drawings ({clip_n} with CLIP guidance)"


def composition_table(words: dict, title: str | None = None):
    """``bench``'s composition scoreboard as coloured tables, one per kind of guidance: a row per team and
    prompt, a column per guidance scale, each cell the composition over its 95 % Wilson interval (in %), and the judge's
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
                    low, high = wilson(s["composition"], s["n"])
                    ax.text(c, r, f"{100 * s['composition']:.0f}\n{100 * low:.0f}–{100 * high:.0f}", ha="center",
                            va="center", fontsize=5.5, linespacing=0.9,
                            color="white" if s["composition"] < 0.55 else "black")
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
    fig.suptitle(title or f"composition: % of {_drawings(words)} ({words['steps']} steps) in which the judge reads "
                          "everything the prompt says (below: its 95 % interval)", fontsize=10)
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
            low, high = ([v[f"composition_{end}"] for v in curve.values()] for end in ("low", "high"))
            ax.plot(xs, comp, "-o", ms=3, color=colours[team], label=f"{team}: composition")
            ax.fill_between(xs, low, high, color=colours[team], alpha=0.15, lw=0)
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
    fig.suptitle(title or f"guidance: {_drawings(words)} of {words['steps']} steps per team, prompt and scale; "
                          "stars: each team's best scale", fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def best_scales(words: dict) -> dict:
    """Print each team's best guidance scale of each kind (``bench``'s ``best`` and ``best_clip``: the highest
    composition averaged over the prompts among the scales that keep the diversity floor) with its composition
    (95 % Wilson interval, pooled over the prompts), composition among the recognisable drawings, recognisable rate,
    diversity and worst prompt; the judge's ceiling on real scenes last.
    Returns the rows."""
    rows = {}
    for kind, key in (("cfg", "best"), ("clip", "best_clip")):
        for team, b in words.get(key, {}).items():
            composed, among = best_spans(words["scores"], team, kind, b)
            rows[f"{team}, {kind.upper()} × {b['scale']:g}"] = {
                "composition": composed, "among the recognisable": among,
                "recognisable": f"{b['recognisable']:.0%}",
                "diversity": f"{b['diversity']:.2f}",
                "worst prompt": f"{b['worst_prompt']} ({b['worst_composition']:.0%})"}
    if words.get("real"):
        real = list(words["real"].values())
        rows["real scenes (the judge's ceiling)"] = {"composition": f"{np.mean(real):.0%}",
                                                     "among the recognisable": "", "recognisable": "",
                                                     "diversity": "1.00", "worst prompt": ""}
    table(rows)
    return rows
