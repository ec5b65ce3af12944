"""Notebook 10's measurements, for both teams: when each fact of the drawing is decided (``analysis.commitment``),
how much forks at each step disagree (``analysis.fork``), and what the looking costs (annotation time and
memory per tap kind, per step stride and per image). ``bench --only showing`` writes them into
``bench/results.json``; the notebook and ``report`` read them from there.

The claim under test: "the Transformer team worked on the overall structure early on; the CNN team refined local
details first". The fair pair is ``CLAIM``: both teams in the same sketchbook, trained on the same scenes, so
that a difference in when the layout settles is the team's and not the canvas's; the pixel U-Net runs beside them
as the course's usual Team CNN. ``verdict`` says what the measured steps and their bootstrap interval allow.
"""
from __future__ import annotations

import functools

import torch

from ..diffusion import checkpoints
from ..diffusion.cost import alternate, fastest, timed
from ..diffusion.samplers import sample
from ..looking import analysis
from ..looking.trace import MB, annotate, estimate_bytes_per_step, plan_steps
from ..sketchbook import latent

TEAMS = {"unet-scenes": "Team CNN", "latent-unet": "Team CNN in the sketchbook",
         "latent-dit": "Team Transformers in the sketchbook"}
CLAIM = ("latent-unet", "latent-dit")  # the fair pair: same sketchbook, same scenes (Team CNN first)
BUDGET_MB = 100.0  # annotate's default budget


def painting(model) -> dict:
    """What ``analysis`` needs to read a model's runs as pictures: nothing for a pixel model; for a latent one its
    autoencoder's decoder (``paint``) and the latents' range x̂₀ is clamped to (``clip_x0``), as the sketchbook
    samples."""
    ae = latent.autoencoder_for(model)
    return {} if ae is None else {"paint": ae.decode, "clip_x0": ae.bound.item()}


def commitment_summary(c: analysis.Commitment) -> dict:
    """A ``Commitment`` as numbers: each fact's committed step (and its timestep), and the curves."""
    return {"facts": list(c.facts), "t": c.t, "share": c.share,
            "step": c.step, "timestep": {f: (c.t[s] if s is not None else None) for f, s in c.step.items()},
            "interval": {f: list(c.interval(f)) for f in c.facts},
            "shown": c.shown.T.tolist(), "settled": c.settled.T.tolist(), "settles": c.settles.T.tolist()}


def restored(summary: dict) -> analysis.Commitment:
    """A ``commitment_summary`` (from ``bench``'s results) as a ``Commitment`` again."""
    return analysis.Commitment(tuple(summary["facts"]), summary["t"], torch.tensor(summary["shown"]).T,
                               torch.tensor(summary["settled"]).T, summary["share"],
                               torch.tensor(summary["settles"]).T)


def verdict(measured: dict, pair: tuple[str, str] = CLAIM, fact: str = analysis.LAYOUT) -> str:
    """The claim "Team Transformers settles the layout earlier" read off ``measure``'s results: each team's step
    with its 95 % bootstrap interval, the gap's interval, and the sentence that follows from them."""
    teams = measured["teams"]
    if not all(name in teams for name in pair):
        return f"the benchmark has no commitment of {' and '.join(pair)}: bench --only showing measures it"
    cnn, trf = (restored(teams[name]["commitment"]) for name in pair)
    gap = analysis.later_by(cnn, trf, fact)
    said = "; ".join(f"{teams[name]['team']} ({name}) settles the {fact} at step {c.step[fact]} of {len(c.t)} "
                     f"(95 % interval {low}–{high})"  # (the interval commitment_summary kept: no second bootstrap)
                     for name, c in zip(pair, (cnn, trf))
                     for low, high in [teams[name]["commitment"]["interval"][fact]])
    if gap["gap"] is None:
        return f"{said}: one of them never settles it within the run, so there is no gap to read."
    if gap["high"] < 0:
        outcome = f"Team Transformers settles it {-gap['gap']} steps earlier, beyond the noise: the claim holds here"
    elif gap["low"] > 0:
        outcome = f"Team Transformers settles it {gap['gap']} steps later, beyond the noise: the claim does not hold"
    else:
        outcome = "within the noise, so on our scenes the claim is neither shown nor refuted"
    return f"{said}. The gap is {gap['gap']:+d} steps (95 % interval {gap['low']:+d} to {gap['high']:+d}): {outcome}."


def fork_summary(model, n: int, ks: list[int], continuations: int, steps: int, seed: int = 0, **painted) -> dict:
    """Mean per-pixel disagreement of ``continuations`` forks at each step in ``ks`` (n images each; ``painted``:
    a latent model's ``painting``, so that the disagreement is in pixels)."""
    out = {}
    for k in ks:
        f = analysis.fork(model, n, k, continuations, steps, seed, **painted)
        out[str(k)] = {"t": f.t, "disagreement": float(f.disagreement.mean()),
                       "disagreement_p90": float(f.disagreement.flatten().quantile(0.9))}
    return out


def _against_plain(fn, plain, reps: int = 2) -> tuple[float, float, object]:
    """``fn`` and ``plain`` timed alternately (``cost.alternate``: a drift in the machine's speed hits both
    alike): the fastest of ``fn``, its ratio to the fastest of ``plain``, and what ``fn`` returned."""
    kept = {}

    def kept_fn():
        kept["value"] = fn()

    best = alternate({"plain": plain, "fn": kept_fn}, reps)
    return best["fn"], best["fn"] / best["plain"], kept["value"]


def looking_cost(model, n: int = 16, steps: int = 50, strides: tuple[int, ...] = (1, 5, 10),
                 images: tuple[int, ...] = (1, 4, 16)) -> dict:
    """What annotation costs on ``model``: time against plain sampling (timed alternately) and the trace's
    memory, per tap kind (every step), per step stride (the default taps) and per number of images; what the
    default budget chooses for every tap at once, and what recording them all at every step would need."""
    def plain():
        return sample(model, n, steps=steps, seed=0)

    plain()  # (a warm-up: the first run pays for allocations)
    kinds = {}
    for kind in sorted(set(model.tap_kinds().values())):
        names = [name for name, k in model.tap_kinds().items() if k == kind]
        seconds, ratio, trace = _against_plain(
            lambda names=names: annotate(model, n, steps, taps=names, every=1, budget_mb=1e6), plain)
        kinds[kind] = {"taps": len(names), "seconds": seconds, "time_ratio": ratio, "trace_mb": trace.nbytes / MB}
    by_stride = {}
    for every in strides:
        seconds, ratio, trace = _against_plain(
            lambda every=every: annotate(model, n, steps, every=every, budget_mb=1e6), plain)
        by_stride[str(every)] = {"recorded_steps": len(trace), "seconds": seconds, "time_ratio": ratio,
                                 "trace_mb": trace.nbytes / MB}
    per_image = {str(m): estimate_bytes_per_step(model, model.default_taps(), m) * steps / MB for m in images}
    everything = model.tap_names()
    all_step = estimate_bytes_per_step(model, everything, n)
    return {"model_images": n, "steps": steps, "plain_seconds": fastest(plain, 2, warmup=0), "kinds": kinds,
            "by_stride": by_stride, "default_taps": model.default_taps(), "mb_per_images_all_steps": per_image,
            "all_taps": len(everything), "all_taps_all_steps_mb": all_step * steps / MB,
            "budget_mb": BUDGET_MB, "budget_stride_all_taps": _stride(steps, all_step)}


def _stride(steps: int, per_step: int) -> int | None:
    """The stride ``annotate`` would choose within the default budget (None: not even one step fits)."""
    try:
        return plan_steps(steps, per_step, BUDGET_MB, "auto")
    except MemoryError:
        return None


FORK_AT = (0.0, 0.2, 0.4, 0.6, 0.8)  # forks at these fractions of the run


def measure(judge, n: int = 64, steps: int = 50, fork_n: int = 16, continuations: int = 4, cost_n: int = 16,
            progress=print) -> dict:
    """Both teams' commitment and fork disagreement (forks at ``FORK_AT`` of the run), and Team CNN's
    annotation cost (timed first)."""
    models = {name: checkpoints.load_pretrained(name, "cpu") for name in TEAMS}
    out = {"n": n, "steps": steps, "fork_n": fork_n, "continuations": continuations,
           "cost": looking_cost(models["unet-scenes"], cost_n, steps), "teams": {}}
    for name, model in models.items():
        painted = painting(model)  # (the autoencoder loaded once for both readings)
        seconds, c = timed(functools.partial(analysis.when_decided, model, judge, n, steps, **painted))
        forks = fork_summary(model, fork_n, [round(f * steps) for f in FORK_AT], continuations, steps, **painted)
        out["teams"][name] = {"team": TEAMS[name], "commitment": commitment_summary(c), "forks": forks,
                              "seconds": seconds}
        spreads = ", ".join(f"k={k}: {v['disagreement']:.3f}" for k, v in forks.items())
        progress(f"  {TEAMS[name]}: layout committed at step {c.step[analysis.LAYOUT]} of {steps}; "
                 f"fork disagreement {spreads}")
    out["verdict"] = verdict(out)
    progress(f"  {out['verdict']}")
    return out
