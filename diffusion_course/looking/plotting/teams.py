"""Figures of notebooks 04-05: inside Team Transformers (patches, positions, attention) and the race
between the teams (tables, scoreboards, budgets)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from einops import rearrange

from .figures import loss_curve, quality_curves, show_grid, show_patches

# ----------------------------------------------------------------------------- notebook 04: puzzle patchers

def puzzle_pieces(x: torch.Tensor, patch: int, highlight=None, coarse: int = 8, seed: int = 0):
    """One image (C, H, W) three ways: cut into ``coarse`` pieces, cut into ``patch`` pieces (with
    the ``highlight`` (row, col) piece outlined), and its coarse pieces shuffled, as attention sees
    them: a set. Returns the figure."""
    side = x.shape[-1] // coarse
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    show_patches(x, coarse, ax=axes[0], title=f"patch {coarse}: {side} × {side} = {side * side} pieces")
    show_patches(x, patch, ax=axes[1], highlight=highlight,
                 title=f"patch {patch}: our model's {(x.shape[-1] // patch) ** 2} pieces")
    pieces = rearrange(x, "c (h p1) (w p2) -> (h w) c p1 p2", p1=coarse, p2=coarse)
    shuffled = pieces[torch.randperm(len(pieces), generator=torch.Generator().manual_seed(seed))]
    show_grid(shuffled, nrow=side, ax=axes[2], title=f"the same {len(pieces)} pieces, as a set")
    fig.tight_layout()
    return fig


def position_similarity(pos: torch.Tensor, places, title: str | None = None):
    """Cosine similarity between the position embedding (N, D) of each of ``places`` ((row, col),
    marked x) and every other place's, on the square token grid. Returns the figure."""
    side = math.isqrt(len(pos))
    unit = torch.nn.functional.normalize(pos.detach().float(), dim=-1)
    similarity = unit @ unit.T  # (N, N)
    fig, axes = plt.subplots(1, len(places), figsize=(2.75 * len(places), 3), squeeze=False)
    for ax, (r, c) in zip(axes[0], places):
        ax.imshow(similarity[r * side + c].reshape(side, side), cmap="magma", vmin=-0.2, vmax=1)
        ax.plot(c, r, "x", color="cyan", ms=8, mew=2)
        ax.set_title(f"place (row {r}, col {c})", fontsize=10)
        ax.set_axis_off()
    fig.suptitle(title or "learned position embeddings: which places look alike to the model?")
    return fig


def attention_heads(x: torch.Tensor, probs: torch.Tensor, query: tuple[int, int], patch: int,
                    title: str | None = None, image_title: str = "x_t"):
    """Where the ``query`` piece (row, col) attends in each head: the image (C, H, W) with the
    query outlined, then one map per head of ``probs`` (heads, N, N). Returns the figure."""
    heads, n = probs.shape[0], probs.shape[-1]
    side = math.isqrt(n)
    fig, axes = plt.subplots(1, heads + 1, figsize=(2.4 * (heads + 1), 2.8))
    show_patches(x, patch, ax=axes[0], highlight=query, title=image_title)
    for head, ax in enumerate(axes[1:]):
        ax.imshow(probs[head, query[0] * side + query[1]].float().reshape(side, side), cmap="magma")
        ax.set_title(f"head {head}", fontsize=10)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def attention_moments(trace, names, moments: dict, query: tuple[int, int], patch: int | None = None, image: int = 0):
    """For one query piece: x0_hat (a latent model's painted by its decoder) and where each attention tap of
    ``names`` looks (``Trace.frames``, averaged over heads), at each of ``moments`` ({label: recorded-step index}).
    ``patch``: the pixels a piece covers in the picture (default: the picture's side over the token grid's).
    Returns the figure."""
    maps = {name: trace.frames(name, image, query=query) for name in names}  # (S, side, side) each
    x0_hat = trace.frames("decoded" if trace.decoded is not None else "x0_hat", image)
    patch = patch or x0_hat.shape[-1] // next(iter(maps.values())).shape[-1]
    fig, axes = plt.subplots(len(moments), len(names) + 1, figsize=(3 * (len(names) + 1), 2.4 * len(moments)),
                             squeeze=False)
    for row, (label, i) in zip(axes, moments.items()):
        show_patches(x0_hat[i], patch, ax=row[0], highlight=query)
        row[0].set_title(f"x̂_0, {label} (step {trace.steps[i] + 1})", fontsize=9)
        for ax, name in zip(row[1:], names):
            ax.imshow(maps[name][i], cmap="magma")
            ax.set_title(name, fontsize=9)
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def attention_distances(steps, distances: dict, uniform: float, ax=None):
    """Attention distance (pieces) against the sampling step for each tap of ``distances``
    ({name: (S,)}), with the distance of uniform attention as a dotted line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    for name, d in distances.items():
        ax.plot(steps, d, label=name)
    ax.axhline(uniform, color="grey", ls=":", label=f"uniform attention ({uniform:.1f})")
    ax.set(xlabel="sampling step (dusty → clean)", ylabel="attention distance (pieces)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return ax


# ----------------------------------------------------------------------------- notebook 05: the challenge

def table(rows: dict, mark_differences: bool = False) -> None:
    """Print ``{row label: {column: value}}`` as an aligned text table; with ``mark_differences``,
    rows whose values differ get a ← at the end."""
    columns = list(dict.fromkeys(c for r in rows.values() for c in r))
    cells = {k: [v if isinstance(v, str) else f"{v:,}" if isinstance(v, int) else f"{v:g}"
                 for v in (r.get(c, "") for c in columns)] for k, r in rows.items()}
    first = max(len(str(k)) for k in rows)
    widths = [max(len(c), *(len(v[i]) for v in cells.values())) for i, c in enumerate(columns)]
    print(" " * first + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths)))
    for k, vals in cells.items():
        differ = mark_differences and len(set(vals)) > 1
        print(f"{k!s:<{first}}" + "".join(f"  {v:>{w}}" for v, w in zip(vals, widths)) + ("  ←" if differ else ""))


def grids(named: dict, nrow: int = 8, width: float = 6.0):
    """Side-by-side grids, one per entry of ``{title: (N, C, H, W)}``. Returns the figure."""
    fig, axes = plt.subplots(1, len(named), figsize=(width * len(named), width * 0.55), squeeze=False)
    for ax, (title, x) in zip(axes[0], named.items()):
        show_grid(x, nrow=nrow, ax=ax, title=title)
    fig.tight_layout()
    return fig


def budget_curves(teams: dict, title: str = "recognisable drawings (128 per probe) against the training budget"):
    """``quality_curves`` of ``bench``'s head-to-head teams against CPU minutes and against PFLOP."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    quality_curves(teams, budget="minutes", ax=axes[0])
    quality_curves(teams, budget="pflop", ax=axes[1])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def time_to_quality(b: dict, ax=None, goals: bool = True):
    """``bench``'s time-to-quality section (``budgets.curve``): each preset's recognisable rate against the
    training TFLOP spent (log scale), the target dotted and, with ``goals`` (the benchmark's page, not a learner's),
    each goal's budget marked. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for name, c in b["curves"].items():
        pts = c["points"]
        ax.plot([p["tflop"] for p in pts], [100 * p["recognisable_rate"] for p in pts], "o-",
                label=f"{name} ({c['gflop_per_step']:.0f} GFLOP a step)")
    ax.axhline(100 * b["target"], color="grey", ls=":", lw=1)
    for name, key in ((b["unet"], "budgets_unet"), (b["dit"], "budgets_dit")) if goals else ():
        limit = b.get("goal", {}).get(key)
        if limit is not None and min(b["budgets"]) <= limit <= max(b["budgets"]):
            ax.axvline(limit, color="grey", ls="--", lw=0.8)
            ax.text(limit, 2, f" {name}'s goal", fontsize=7, color="grey", rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_xticks(b["budgets"], [f"{x:g}" for x in b["budgets"]])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set(xlabel="training TFLOP (forward + backward, counted)", ylabel="recognisable (%)", ylim=(0, 100),
           title=f"time to quality: {b['probe_images']} drawings per point, scene world {b['world']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def race(result, nrow: int = 8):
    """A ``challenge.Race``: each team's loss curve, then its drawings at each budget, titled with
    steps, recognisable rate and share with an object. Returns the figure."""
    teams = [s.team for s in result.legs[0].scores]
    n = len(next(iter(result.drawings.values())))
    rows = math.ceil(n / nrow) / nrow  # height of a grid, relative to its width
    fig, axes = plt.subplots(1 + len(result.legs), len(teams), squeeze=False,
                             figsize=(6 * len(teams), 3 + (5 * rows + 0.6) * len(result.legs)),
                             gridspec_kw={"height_ratios": [3] + [5 * rows + 0.6] * len(result.legs)})
    for ax, team in zip(axes[0], teams):
        loss_curve(result.losses[team], ax=ax, title=f"{team}: training loss")
    for row, leg in zip(axes[1:], result.legs):
        for ax, s in zip(row, leg.scores):
            show_grid(result.drawings[leg.budget, s.team], nrow=nrow, ax=ax)
            ax.set_title(f"{leg.budget}: {s.team}, {s.steps} steps\n{s.recognisable:.0%} recognisable, "
                         f"{s.with_object:.0%} with an object (real: {leg.real_with_object:.0%})", fontsize=9)
    fig.tight_layout()
    return fig


def scoreboard(results: dict) -> dict:
    """Print ``bench``'s head-to-head scoreboard (quality beside cost, one row per team) and, under
    it, the better team on each figure (diversity: the closer to real's 1). Returns the rows."""
    quality, teams = results["quality"], results["head_to_head"]["teams"]
    figures = {"recognisable": ("recognisable_rate", "{:.0%}", lambda v: v),  # (key, format, higher = better)
               "Fréchet": ("frechet_distance", "{:.2f}", lambda v: -v),
               "diversity": ("diversity_ratio_to_real", "{:.2f}", lambda v: -abs(v - 1))}
    rows = {f"{t['team']} ({name})": {**{col: fmt.format(quality[name][key]) for col, (key, fmt, _) in figures.items()},
                                     "s / image": f"{t['seconds_per_image']:.3f}", "parameters": t["parameters"]}
            for name, t in teams.items()}
    table(rows)
    better = {col: max(teams, key=lambda name, k=key, g=good: g(quality[name][k]))
              for col, (key, _, good) in figures.items()}
    print("better: " + ", ".join(f"{col} {teams[name]['team']}" for col, name in better.items()))
    return rows


def equal_budgets(head_to_head: dict) -> None:
    """Print ``bench``'s equal-budget rows: each team's step and recognisable rate at each budget
    (read off the probe curves; "not measured" where the probes around that step are far apart;
    † where a figure was read during training by an earlier judge than today's)."""
    teams = head_to_head["teams"]
    rows = {}
    for row in head_to_head["equal_budget"]:
        unit = "CPU min" if row["unit"] == "minutes" else "PFLOP"
        amount = f"{row['amount']:.0f} {unit}" if unit == "CPU min" else f"{row['amount']:.2f} {unit}"
        whose = [t["team"] for t in teams.values()
                 if abs(t.get("train_cpu_minutes" if unit == "CPU min" else "train_pflop", -1) - row["amount"]) < 1e-6]
        label = f"{amount} (full training of {whose[0]})" if whose else amount
        rows[label] = {}
        for name, t in teams.items():
            c = row[name]
            rate = "not measured" if c["recognisable_rate"] is None else f"{c['recognisable_rate']:.0%}"
            then = " †" if c.get("judge") is not None and c["judge"] != head_to_head.get("judge", 1) else ""
            rows[label][t["team"]] = f"step {c['step']}{' (finished)' if c['finished_early'] else ''}, {rate}{then}"
    table(rows)


