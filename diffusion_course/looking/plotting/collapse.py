"""Notebook 06's figures: a generator's variety against its training seconds, beside a diffusion model's."""
from __future__ import annotations

import matplotlib.pyplot as plt

# what each panel shows, and which way is better
PANELS = {"recognisable_rate": ("recognisable (%)", 100, "higher is better"),
          "diversity": ("diversity vs real scenes", 1, "1 = as varied as real"),
          "twins": ("twins (%)", 100, "real scenes: about 8 %"),
          "contents_tv": ("contents TV vs real", 1, "0 = the same mix of contents")}


def variety_curves(curves: dict, title: str | None = None):
    """One panel per measure of ``PANELS`` against training seconds, one line per ``{name: probe curve}``
    (points of ``metrics.probe`` with ``train_seconds``). Returns the figure."""
    fig, axes = plt.subplots(1, len(PANELS), figsize=(15, 3.3))
    for ax, (key, (label, scale, note)) in zip(axes, PANELS.items()):
        for name, curve in curves.items():
            ax.plot([p["train_seconds"] for p in curve], [scale * p[key] for p in curve], "o-", ms=3, label=name)
        ax.set_xlabel("training seconds")
        ax.set_title(f"{label}\n({note})", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def over_steps(t, curves: dict, ylabel: str, title: str | None = None, ax=None):
    """Lines of ``{name: one value per recorded step}`` against the timestep ``t`` of each step, the dustiest
    on the left, as sampling runs. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    for name, values in curves.items():
        ax.plot(list(t), [float(v) for v in values], "o-", ms=3, label=name)
    ax.invert_xaxis()
    ax.set_xlabel("timestep t (sampling runs left to right)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax
