"""The magic drawing challenge: train teams at equal steps and equal FLOPs, judge their drawings,
and say who won from the numbers (notebook 05's live race).

Two budgets, neither of them a wall clock (which depends on the machine and on what else it runs):

    equal steps   every team trains ``steps`` steps on batches of the same size;
    equal FLOPs   every team spends what the costliest team spends in ``steps`` steps:
                  steps_k = steps * F_max / F_k, with F_k the FLOPs of one training step of
                  team k (forward + backward, counted by ``diffusion.cost.step_flops``), so a cheaper
                  model trains proportionally longer.

A team in the sketchbook (a latent preset, as both of ``TEAMS`` are) trains on the race's scenes encoded once by its
autoencoder (``sketched``), and its drawings are painted before they are judged.

The learning rate warms up and then stays flat (the recipe's horizon lies far beyond the race),
so a team's snapshot at step s is exactly the model that a race of s steps would have trained:
each team trains once, to its longest budget, and is judged at every budget on the way.

Judging, per team and budget: the **recognisable** rate (the judge calls a drawing a clean scene
and is sure what is in it), and the share of drawings with **at least one object** (any presence
probability >= 0.5) beside the share among real scenes. The judge credits near-empty skies (an
empty starry sky is a real scene), so a team that draws mostly sky scores without drawing
anything: read the two numbers together, and look at the drawings.

``verdict`` writes the result as sentences built from the numbers. A lead counts only when it
exceeds twice the standard error of the difference of two rates (a two-proportion z-test at about
95 %); when both rates are below ``NEAR_ZERO``, neither team draws recognisable scenes yet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .. import config, scenes
from ..config import TrainConfig
from ..diffusion import checkpoints
from ..diffusion.cost import step_flops
from ..diffusion.training import Trainer
from ..judging import metrics
from ..pools import LatentPool
from ..sketchbook import latent

# the live teams, both in the sketchbook, as the shipped head-to-head: model preset -> (team, learning rate). Each
# team keeps its own learning rate: Team CNN notebook 02's live one, Team Transformers the shipped latent-dit's.
# On pixels (unet-small against dit-small, 150 steps of 32) neither team drew anything recognisable.
TEAMS = {"latent-unet-live": ("Team CNN", 4e-3), "latent-dit-live": ("Team Transformers", 1e-3)}
STEPS = 400  # the costlier team's steps; at equal FLOPs the cheaper one trains proportionally longer
HORIZON = 1_000_000  # the recipe's step count: far beyond the race, so the learning rate stays flat
NEAR_ZERO = 0.10  # below one recognisable drawing in ten, a team does not draw scenes yet
Z = 2.0  # a lead must exceed Z standard errors of the difference


@dataclass(frozen=True)
class Score:
    """How one team did at one budget."""

    team: str  # e.g. "Team CNN (unet-small)"
    steps: int
    flops: float  # training FLOPs spent: steps x FLOPs of one training step
    recognisable: float  # share of drawings the judge calls recognisable
    with_object: float  # share of drawings with at least one object, by the judge's reading
    n: int  # drawings judged


@dataclass(frozen=True)
class Leg:
    """One budget of the race: every team's score, and real scenes' share with an object."""

    budget: str  # "equal steps" or "equal FLOPs"
    scores: tuple[Score, ...]
    real_with_object: float


@dataclass
class Race:
    """What ``run`` measured: the legs, each team's FLOPs per step, losses and drawings."""

    legs: list[Leg]
    flops_per_step: dict[str, float]
    losses: dict[str, list[float]] = field(default_factory=dict)
    drawings: dict[tuple[str, str], torch.Tensor] = field(default_factory=dict)  # (budget, team) -> (n, C, H, W)


def recipe(lr: float, batch_size: int = 32, seed: int = 0) -> TrainConfig:
    """The race's training recipe: warm-up, then a flat learning rate (see the module docstring)."""
    return TrainConfig(steps=HORIZON, batch_size=batch_size, lr=lr, warmup=40, seed=seed)


def budgets(flops: dict[str, float], steps: int) -> dict[str, dict[str, int]]:
    """Steps per team for each budget: the same ``steps``, and the same FLOPs as the costliest
    team's ``steps`` (steps_k = steps * F_max / F_k)."""
    most = max(flops.values())
    return {"equal steps": dict.fromkeys(flops, steps),
            "equal FLOPs": {k: round(steps * most / f) for k, f in flops.items()}}


def sketched(teams: dict, pool: scenes.ScenePool, progress: bool = False) -> dict:
    """Each team's training pool: the scenes, or for a team in the sketchbook the same scenes encoded once by its
    autoencoder (teams that share an autoencoder share the encoding)."""
    encoded, out = {}, {}
    for preset in teams:
        shape = config.preset(preset)
        name = getattr(shape, "autoencoder", "")
        if name and name not in encoded:
            encoded[name] = LatentPool(pool, checkpoints.autoencoder_of(shape, "cpu"), progress=progress)
        out[preset] = encoded[name] if name else pool
    return out


def judge_drawings(judge, x: torch.Tensor) -> tuple[float, float]:
    """(recognisable rate, share with at least one object) of images ``x``, from one reading."""
    r = metrics.read(judge, x)
    return (metrics.recognisable_reading(r).float().mean().item(),
            metrics.with_objects_reading(r).float().mean().item())


def run(steps: int = STEPS, n: int = 64, teams: dict = TEAMS, batch_size: int = 32, sampling_steps: int = 50,
        seed: int = 0, pool: scenes.ScenePool | None = None, judge=None, real: int = 256,
        progress: bool = True) -> Race:
    """Race ``teams`` ({preset: (team, lr)}) at equal steps and equal FLOPs; judge ``n`` drawings
    (DDIM-``sampling_steps``, fixed seed) of each team at each budget, and ``real`` held-out real
    scenes for their share with an object. Deterministic for a seed."""
    pool = pool if pool is not None else scenes.ScenePool(2048, seed=seed, progress=progress)
    judge = judge if judge is not None else checkpoints.load_pretrained("judge", "cpu")
    cfgs = {p: recipe(lr, batch_size, seed) for p, (_, lr) in teams.items()}
    pools = sketched(teams, pool, progress)
    flops = {p: step_flops(p, cfg, pools[p]) for p, cfg in cfgs.items()}
    plan = budgets(flops, steps)
    real_with_object = judge_drawings(judge, metrics.reference_scenes(real)[0])[1]
    scores, race = {}, Race([], flops)
    for preset, cfg in cfgs.items():
        name = f"{teams[preset][0]} ({preset})"
        trainer = Trainer(preset, cfg, pool=pools[preset], progress=progress)
        for s in sorted({plan[b][preset] for b in plan}):
            trainer.run(steps=s)  # continues from the previous snapshot
            x = latent.draw(trainer.ema, n, steps=sampling_steps, seed=seed)  # (a latent team's sketches painted)
            rec, obj = judge_drawings(judge, x)
            for budget in plan:
                if plan[budget][preset] == s:
                    scores[budget, preset] = Score(name, s, s * flops[preset], rec, obj, n)
                    race.drawings[budget, name] = x
        race.losses[name] = list(trainer.losses)
    race.legs = [Leg(b, tuple(scores[b, p] for p in teams), real_with_object) for b in plan]
    return race


# ----------------------------------------------------------------------------- the verdict

def margin(a: Score, b: Score) -> float:
    """Z standard errors of the difference of two recognisable rates (pooled two-proportion test)."""
    p = (a.recognisable * a.n + b.recognisable * b.n) / (a.n + b.n)
    return Z * math.sqrt(p * (1 - p) * (1 / a.n + 1 / b.n))


def leader(leg: Leg) -> Score | None:
    """The team ahead on recognisable drawings, or None: both near zero, or within the noise."""
    a, b = sorted(leg.scores, key=lambda s: s.recognisable, reverse=True)
    if a.recognisable < NEAR_ZERO or a.recognisable - b.recognisable <= margin(a, b):
        return None
    return a


def _sentence(leg: Leg) -> str:
    if len(leg.scores) != 2:
        raise ValueError(f"a verdict compares two teams; the {leg.budget} leg has {len(leg.scores)}")
    a, b = sorted(leg.scores, key=lambda s: s.recognisable, reverse=True)
    spent = ", ".join(f"{s.team.split(' (')[0]} {s.steps} steps" for s in leg.scores)
    head = f"At {leg.budget} ({spent}): "
    best = leader(leg)
    if a.recognisable < NEAR_ZERO:
        text = (f"neither team draws recognisable scenes yet ({a.team} {a.recognisable:.0%}, "
                f"{b.team} {b.recognisable:.0%} recognisable).")
    elif best is None:
        text = (f"no winner: {a.team} {a.recognisable:.0%} vs {b.team} {b.recognisable:.0%} recognisable is within "
                f"the noise of {a.n} and {b.n} drawings (a lead must exceed {margin(a, b):.0%}).")
    else:
        text = (f"{best.team} is ahead, {a.recognisable:.0%} vs {b.recognisable:.0%} recognisable "
                f"(more than the noise, {margin(a, b):.0%}).")
    for s in leg.scores:  # the judge credits near-empty skies: say when a score may be sky
        gap = Z * math.sqrt(leg.real_with_object * (1 - leg.real_with_object) / s.n)
        if s.recognisable >= NEAR_ZERO and s.with_object < leg.real_with_object - gap:
            text += (f" But only {s.with_object:.0%} of {s.team}'s drawings hold an object, against "
                     f"{leg.real_with_object:.0%} of real scenes: the judge credits near-empty skies.")
    return head + text


def verdict(results) -> str:
    """One sentence per leg of a ``Race`` (or a list of ``Leg``), built from the measured numbers."""
    return "\n".join(_sentence(leg) for leg in getattr(results, "legs", results))


def scoreboard(results) -> dict:
    """The race's numbers as table rows ({team, budget: {column: value}}) for ``plotting.table``."""
    return {f"{leg.budget}: {s.team}": {"steps": s.steps, "training TFLOP": f"{s.flops / 1e12:.1f}",
                                        "recognisable": f"{s.recognisable:.0%}",
                                        "with an object": f"{s.with_object:.0%}",
                                        "real scenes with an object": f"{leg.real_with_object:.0%}"}
            for leg in getattr(results, "legs", results) for s in leg.scores}
