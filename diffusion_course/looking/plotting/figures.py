"""The course's common figures: grids, puzzle-piece cuts, schedules, filmstrips, loss and quality curves,
and the figures of notebooks 02-03 (loss weights, receptive fields, activity per level)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ... import schedules
from ...images import grid, to_uint8


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
        judges = [p.get("judge", 1) for p in t["curve"]]
        now = judges[-1]  # the final model, read by today's judge
        old = [i for i, j in enumerate(judges) if j != now]  # hollow: read in training by an earlier judge
        line, = ax.plot([xs[i] for i in old], [ys[i] for i in old], "o", ms=3, mfc="none",
                        label=f"{t['team']} ({name}), read in training by judge v{judges[0]}" if old else None)
        probes = [i for i, j in enumerate(judges[:-1]) if j == now]
        which = f" by judge v{now}" if old else ""  # (a judge's version is named only where two judges read)
        ax.plot([xs[i] for i in probes], [ys[i] for i in probes], "o", ms=3, color=line.get_color(),
                label=f"{t['team']} ({name}), probed in training{which}" if probes else None)
        ax.plot(xs[-1:], ys[-1:], "*", ms=10, color=line.get_color(),
                label=f"{t['team']} ({name}), the finished model, read here{which}")
        for i in range(len(xs) - 1):  # probes far apart: dotted, nothing was measured in between
            if judges[i] != judges[i + 1]:
                continue  # two judges' readings are not one curve
            ls = "-" if steps[i + 1] - steps[i] <= 1000 else ":"
            ax.plot(xs[i:i + 2], ys[i:i + 2], color=line.get_color(), ls=ls)
    ax.set_xlabel("training CPU minutes" if budget == "minutes" else "training PFLOP")
    ax.set_ylabel("recognisable (%)" if key == "recognisable_rate" else key.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


# ----------------------------------------------------------------------------- notebooks 02-03: cleaning up, team CNN

def steps_curves(s: dict, ax=None):
    """``bench``'s fewer-steps section (``stepping.measure``): the judge's recognisable rate against the number
    of model evaluations, one line per sampler, the goal's share of the DDIM-50 rate dotted. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = [int(k) for k in s["steps"]]
    for run, curve in s["curves"].items():
        ax.plot(steps, [100 * curve[str(k)] for k in steps], "o-", label=run)
    goal = 100 * s["share_goal"] * s["baseline"]["recognisable"]
    ax.axhline(goal, color="grey", ls=":", lw=1)
    ax.text(steps[0], goal + 1, f"{s['share_goal']:.0%} of {s['baseline']['run']}, {s['baseline']['steps']} steps",
            fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xticks(steps, [str(k) for k in steps])
    ax.xaxis.set_minor_locator(plt.NullLocator())  # (no 3x10^1 between the steps measured)
    ax.set_xlabel("model evaluations (steps)")
    ax.set_ylabel("recognisable (%)")
    ax.set_title(f"{s['images']} drawings of {s['model']} per point")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def loss_weights(snr: torch.Tensor, weight: torch.Tensor, gamma: float, ax=None):
    """A loss weight w(t) (e.g. Min-SNR-γ's min(SNR, γ) / SNR) over the steps t, on a log scale,
    with SNR(t) on a second axis and the step where SNR falls to γ marked. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    t = np.arange(len(weight))
    ax.plot(t, weight.float().numpy(), color="tab:blue", lw=2, label="loss weight w(t)")
    ax.set(yscale="log", xlabel="step t (dustier →)", ylabel="w(t)")
    snr_ax = ax.twinx()
    snr_ax.plot(t, snr.float().numpy(), color="tab:orange", lw=1, ls="--", label="SNR(t)")
    snr_ax.set(yscale="log", ylabel="SNR(t)")
    crossing = int((snr <= gamma).nonzero()[0]) if bool((snr <= gamma).any()) else None
    if crossing is not None:
        ax.axvline(crossing, color="grey", lw=0.8, ls=":")
        ax.text(crossing, ax.get_ylim()[0] * 1.5, f" SNR = γ = {gamma:g} at t = {crossing}", fontsize=8)
    lines = ax.get_lines()[:1] + snr_ax.get_lines()[:1]
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    ax.grid(alpha=0.3, which="both")
    return ax


def receptive_fields(x_t: torch.Tensor, fields: dict, title: str | None = None, image_title: str = "x_t"):
    """The input image (1, C, H, W) and, for each tap of ``fields`` ({name: (H, W) map of how much each
    input pixel moves that tap's centre unit, e.g. ``taps.receptive_field``}), the map on a log
    scale (brighter = more influence). Returns the figure."""
    fig, axes = plt.subplots(1, len(fields) + 1, figsize=(2.6 * (len(fields) + 1), 2.8))
    filmstrip(x_t, title=image_title, ax=axes[0])
    for ax, (name, influence) in zip(axes[1:], fields.items()):
        ax.imshow(influence.float().log1p(), cmap="magma")
        ax.set_axis_off()
        ax.set_title(name)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def level_activity(trace, names, moments: dict, image: int = 0):
    """For one image of a ``Trace``: x_t and each feature tap of ``names`` as ``Trace.frames`` shows it
    (mean |activation| over channels), at each of ``moments`` ({label: recorded-step index}), one row
    per moment. Returns the figure."""
    x_t = trace.frames("x_t", image)  # (S, C, H, W)
    activity = {name: trace.frames(name, image) for name in names}  # (S, h, w) each
    fig, axes = plt.subplots(len(moments), len(names) + 1, figsize=(2.1 * (len(names) + 1), 2.3 * len(moments)),
                             squeeze=False)
    for row, (label, i) in zip(axes, moments.items()):
        filmstrip(x_t[i][None], ax=row[0])
        row[0].set_title(f"x_t, {label}", fontsize=9)
        for ax, name in zip(row[1:], names):
            ax.imshow(activity[name][i], cmap="magma")
            ax.set_axis_off()
            ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return fig

