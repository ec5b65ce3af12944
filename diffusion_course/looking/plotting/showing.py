"""Figures of notebook 10 and the hand-out page: when each fact is decided, where forks disagree, what a
restoration kept and invented; and the table of what the looking costs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from ...images import heatmap, to_uint8
from .teams import table


def commitment_timeline(c, title: str | None = None, ax=None, facts: list[str] | None = None):
    """Per fact of an ``analysis.Commitment``, the share of drawings whose x̂₀ has settled on its final
    answer at each step, with the committed step marked: the trunk (objects) before the branches
    (relations)? The last fact, the whole layout, is drawn thicker."""
    ax = ax or plt.subplots(figsize=(8, 3.6))[1]
    names = facts or list(c.facts)
    for name in names:
        f = c.facts.index(name)
        line, = ax.plot(c.settled[:, f].numpy(), lw=3 if name == c.facts[-1] else 1.5, label=name)
        if (step := c.step[name]) is not None:
            ax.plot([step], [c.settled[step, f].item()], "o", color=line.get_color())
    ax.axhline(c.share, color="grey", ls=":", lw=1)
    ax.set(xlabel="step (0 = pure dust)", ylabel="settled share", ylim=(-0.02, 1.02),
           title=title or f"when each fact is decided (dot: committed, ≥ {c.share:.0%} settled)")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    return ax


def uncertainty(finals: torch.Tensor, unsure: torch.Tensor, evidence: torch.Tensor | None = None,
                titles: tuple[str, ...] = ("continuation",), image: int = 0, title: str | None = None):
    """One drawing's versions (N, B, C, H, W) in a row, then where they disagree (B, H, W) as a heatmap;
    with ``evidence`` (B, C, H, W), the input first: what the model was shown beside what it invented."""
    versions = [to_uint8(v[image]) for v in finals[:4]]
    cells = ([("evidence", to_uint8(evidence[image]))] if evidence is not None else []) + \
        [(f"{titles[0]} {j}", v) for j, v in enumerate(versions)] + [("disagreement", heatmap(unsure[image]))]
    fig, axes = plt.subplots(1, len(cells), figsize=(1.7 * len(cells), 2.1))
    for ax, (name, arr) in zip(axes, cells):
        ax.imshow(arr, interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def fork_maps(forks: list, images: int = 4, title: str | None = None):
    """For forks of one run at several steps: the run's own drawings on top, then a row per step k with
    the disagreement map of the continuations from there (early forks disagree about layout, late ones
    only about details). One colour scale for all maps."""
    fig, axes = plt.subplots(len(forks) + 1, images, figsize=(1.5 * images, 1.5 * (len(forks) + 1)), squeeze=False)
    top = max(float(f.disagreement.max()) for f in forks) or 1.0
    for b, ax in enumerate(axes[0]):
        ax.imshow(to_uint8(forks[0].finals[0, b]), interpolation="nearest")
    axes[0, 0].set_ylabel("the run", fontsize=8)
    for row, f in zip(axes[1:], forks):
        for b, ax in enumerate(row):
            ax.imshow(f.disagreement[b].numpy(), cmap="magma", vmin=0, vmax=top, interpolation="nearest")
        row[0].set_ylabel(f"fork at k = {f.k}\n(t = {f.t})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title or "where continuations disagree (bright: they differ; one colour scale for all)", fontsize=9)
    fig.tight_layout()
    return fig


def cost_table(cost: dict) -> None:
    """Print what recording costs, from ``showing.looking_cost`` (or the benchmark's ``showing["cost"]``): time
    against plain sampling and the trace's memory per tap kind and per step stride, then the default taps'
    memory per number of images, and what every tap at every step would need within the budget."""
    def row(kept: int, k: dict) -> dict:
        return {"steps kept": kept, "time vs plain": f"{k['time_ratio']:.2f}×", "trace": f"{k['trace_mb']:.1f} MB"}

    n, steps = cost["model_images"], cost["steps"]
    rows = {f"every {kind} tap ({k['taps']}), every step": row(steps, k) for kind, k in cost["kinds"].items()}
    rows |= {f"the default taps, every {every} step(s)": row(k["recorded_steps"], k)
             for every, k in cost["by_stride"].items()}
    print(f"{n} images, DDIM-{steps}: plain sampling {cost['plain_seconds']:.2f} s (every time: the fastest of 2 runs)")
    table(rows)
    print(f"the default taps ({', '.join(cost['default_taps'])}) at every step: "
          + ", ".join(f"{m} image(s) {mb:.1f} MB" for m, mb in cost["mb_per_images_all_steps"].items()))
    stride = cost["budget_stride_all_taps"]
    print(f"all {cost['all_taps']} taps at every step for {n} images: {cost['all_taps_all_steps_mb']:.0f} MB; "
          f"within the {cost['budget_mb']:g} MB budget annotate keeps "
          + (f"every {stride} step(s)" if stride else "not even one step"))
