"""Showing its work: reading a sampling run for what people need before they trust it (notebook 10).

* **When is the drawing decided?** ``facts_over_steps`` reads x̂₀ with the judge at every step;
  ``commitment`` finds, for each fact (an object, a relation, and the whole ``layout``), the step from
  which x̂₀ agrees with the finished image in at least ``COMMITTED`` of the samples.
* **Where is it unsure?** ``fork``: from the same x_t at step k, N continuations with fresh noise;
  ``spread`` is the per-pixel disagreement of their finished images. Continuation 0 uses the run's own
  noise, so it *is* the original run.
* **Where did a bad drawing go wrong?** ``point_of_no_return``: fork the bad drawing at several steps
  and count how often a continuation still ends recognisable; the step where that falls below one half
  is where the defect became fixed.
* **What did a restoration invent?** ``inpaint`` puts the known pixels back at every step, dusted to
  the step's noise level (the replacement method; RePaint, Lugmayr et al. 2022, without its
  resampling jumps); ``restore`` cleans a dusty picture from step k (SDEdit, Meng et al. 2022). Run
  either with several seeds: ``spread`` is zero where there was evidence and large where the model
  invented.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import scenes
from ..diffusion.samplers import ETA, check_sampling, denoise, sample, start_noise, step_noise
from ..judging import metrics

COMMITTED = 0.9  # a fact is committed once x̂₀ agrees with the final image from then on in this share of samples
FACTS = ("pup", "rocket", "moon", *scenes.RELATIONS)
LAYOUT = "layout"  # every fact at once
RECOVERS = 0.5  # a bad drawing is past its point of no return once fewer continuations than this end well


# ----------------------------------------------------------------------------- when is it decided?

def held(judge, x: torch.Tensor) -> torch.Tensor:
    """Which ``FACTS`` the judge reads in images (B, 3, H, W): bool (B, F) (a relation that cannot apply,
    e.g. "pup in rocket" without a rocket, is False)."""
    facts = metrics.reading_facts(metrics.read(judge, x.clamp(-1, 1), redraw_objects=False))
    return torch.tensor([[bool(f[k]) for k in FACTS] for f in facts], dtype=torch.bool).view(len(x), len(FACTS))


def facts_over_steps(judge, x0_hat: torch.Tensor) -> torch.Tensor:
    """The judge's ``held`` facts of x̂₀ at every step: (S, B, C, H, W) -> bool (S, B, F)."""
    S, B = x0_hat.shape[:2]
    return held(judge, x0_hat.flatten(0, 1).float()).view(S, B, len(FACTS))


@dataclass
class Commitment:
    """When each fact was decided, over a batch of sampling runs."""

    facts: tuple[str, ...]  # FACTS and LAYOUT
    t: list[int]  # the timestep of each step
    shown: torch.Tensor  # (S, F) share of samples whose x̂₀ shows the fact at each step (the layout: agrees
    # with the final image on every fact at this step)
    settled: torch.Tensor  # (S, F) share whose x̂₀ agrees with its final image from this step on
    share: float = COMMITTED
    settles: torch.Tensor | None = None  # (B, F) the step from which each sample agrees for good (S: never)

    @property
    def step(self) -> dict[str, int | None]:
        """Per fact, the first step from which ``settled`` >= ``share`` (None: not even at the end)."""
        out = {}
        for f, name in enumerate(self.facts):
            ok = (self.settled[:, f] >= self.share).nonzero()
            out[name] = int(ok[0]) if len(ok) else None
        return out

    def interval(self, fact: str = LAYOUT, resamples: int = 2000, seed: int = 0) -> tuple[int, int]:
        """The 95 % bootstrap interval of ``step[fact]``: the samples drawn again with replacement ``resamples``
        times, the step recomputed each time (``S``, one past the last step, where it never settles)."""
        return _percentiles(self.bootstrap(fact, resamples, seed))

    def bootstrap(self, fact: str = LAYOUT, resamples: int = 2000, seed: int = 0) -> torch.Tensor:
        """``step[fact]`` recomputed on ``resamples`` resamplings of the samples (resamples,), S for never:
        the step is the k-th earliest of the samples' own settling steps, k = ceil(share x B)."""
        if self.settles is None:
            raise ValueError("this Commitment kept no per-sample steps; make it with commitment()")
        own = self.settles[:, self.facts.index(fact)]
        pick = torch.randint(len(own), (resamples, len(own)), generator=torch.Generator().manual_seed(seed))
        k = math.ceil(self.share * len(own) - 1e-9)
        return own[pick].sort(dim=1).values[:, k - 1]


def _percentiles(steps: torch.Tensor) -> tuple[int, int]:
    low, high = torch.quantile(steps.double(), torch.tensor([0.025, 0.975], dtype=torch.double)).tolist()
    return math.floor(low), math.ceil(high)


def later_by(a: Commitment, b: Commitment, fact: str = LAYOUT, resamples: int = 2000, seed: int = 0) -> dict:
    """How many steps later ``b`` settles ``fact`` than ``a`` (negative: earlier), with the 95 % bootstrap
    interval of that gap (each run's samples resampled on their own: the two teams drew independently)."""
    gap = b.bootstrap(fact, resamples, seed + 1) - a.bootstrap(fact, resamples, seed)
    steps = {name: c.step[fact] for name, c in (("a", a), ("b", b))}
    low, high = _percentiles(gap)
    return {"a": steps["a"], "b": steps["b"], "gap": None if None in steps.values() else steps["b"] - steps["a"],
            "low": low, "high": high}


def commitment(over_steps: torch.Tensor, final: torch.Tensor, t: list[int], share: float = COMMITTED) -> Commitment:
    """``over_steps`` (S, B, F): the facts x̂₀ shows at each step; ``final`` (B, F): those of the finished
    images. A sample has settled a fact at step s when its x̂₀ agrees with the final image at s and at
    every later step; the layout, when it agrees on every fact at once."""
    if over_steps.shape[1:] != final.shape or over_steps.shape[0] != len(t):
        raise ValueError(f"over_steps (S, B, F) must match final (B, F) and t (S,): got "
                         f"{tuple(over_steps.shape)}, {tuple(final.shape)}, {len(t)}")
    agree = over_steps == final  # (S, B, F)
    agree = torch.cat([agree, agree.all(dim=2, keepdim=True)], dim=2)  # + the layout
    from_here_on = agree.flip(0).cumprod(dim=0).flip(0).bool()  # agrees at s and at every later step
    settles = len(t) - from_here_on.sum(dim=0)  # (B, F): the first step of the run of agreement to the end
    shown = over_steps.float().mean(dim=1)
    shown = torch.cat([shown, agree[..., -1:].float().mean(dim=1)], dim=1)  # the layout: agrees now
    return Commitment((*FACTS, LAYOUT), list(t), shown, from_here_on.float().mean(dim=1), share, settles)


def when_decided(model, judge, n: int = 64, steps: int = 50, seed: int = 0, progress: bool = False,
                 paint=None, **kwargs) -> Commitment:
    """``commitment`` of ``n`` samples of ``model`` (DDIM-``steps``, the course's eta); ``paint``: see ``x0_hats``."""
    over, final = x0_hats(model, n, steps, seed, progress=progress, paint=paint, **kwargs)
    return commitment(facts_over_steps(judge, over), held(judge, final), model.schedule.subsequence(steps))


def x0_hats(model, n: int, steps: int = 50, seed: int = 0, eta: float = ETA, progress: bool = False, paint=None,
            **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """x̂₀ at every step (S, B, C, H, W) and the finished images (B, C, H, W) of ``sample``'s run
    (``progress``: a bar over the steps). ``paint``: for a latent model, its autoencoder's decoder, which
    paints every x̂₀ and the finished latents as pictures (pass the sketchbook's ``clip_x0`` too)."""
    check_sampling(n, steps, model.schedule.T, eta)
    x_T, g = start_noise(model, n, seed)
    run = denoise(model.eval(), x_T, model.schedule, steps, "ddim", eta, step_noise(model, seed, g), **kwargs)
    runs = list(tqdm(run, total=steps, desc="reading x̂₀", disable=not progress, leave=False))
    return torch.stack([pictures(r.x0_hat, paint) for r in runs]), pictures(runs[-1].x_prev, paint).clamp(-1, 1)


def pictures(x: torch.Tensor, paint=None) -> torch.Tensor:
    """A run's tensor as pictures on the CPU: a latent model's latents painted by ``paint`` (its decoder)."""
    if paint is not None:
        with torch.no_grad():
            x = paint(x).float()
    return x.cpu()


# ----------------------------------------------------------------------------- where is it unsure?

def spread(finals: torch.Tensor) -> torch.Tensor:
    """Per-pixel disagreement of N versions of the same pictures (N, B, C, H, W): the standard deviation
    over the versions, averaged over colour channels, (B, H, W); zero for one version."""
    if len(finals) < 2:
        return torch.zeros(finals.shape[1], *finals.shape[-2:])
    return finals.float().std(dim=0).mean(dim=1)


def fresh(model, *key: int) -> torch.Generator:
    """A generator for a fork's fresh noise, seeded from ``key`` (e.g. seed, step, continuation)."""
    device = next(model.parameters()).device
    return torch.Generator(device).manual_seed(int(np.random.SeedSequence(list(key)).generate_state(1)[0]))


@dataclass
class Fork:
    """Continuations of one run from step ``k``: ``finals`` (N, B, C, H, W); number 0 is the run itself."""

    k: int
    t: int
    x_t: torch.Tensor  # (B, C, H, W) where they forked
    finals: torch.Tensor

    @property
    def disagreement(self) -> torch.Tensor:
        """(B, H, W): where the continuations disagree."""
        return spread(self.finals)


def run_to(model, n: int, k: int, steps: int, seed: int, eta: float, **kwargs) -> tuple[torch.Tensor, torch.Generator]:
    """The run of ``sample(model, n, steps, seed=seed, eta=eta)`` up to step ``k``: its x_t there and the
    generator of its step noise, at the state step k will draw from."""
    check_sampling(n, steps, model.schedule.T, eta)
    if not 0 <= k < steps:
        raise ValueError(f"k must be a step of the run, 0 to {steps - 1}, got {k}")
    x, g = start_noise(model, n, seed)
    g = step_noise(model, seed, g)
    if k:
        for rec in denoise(model.eval(), x, model.schedule, steps, "ddim", eta, g, **kwargs):
            if rec.i == k - 1:
                x = rec.x_prev
                break
    return x, g


def finish(model, x_t: torch.Tensor, k: int, steps: int, eta: float, generator: torch.Generator, paint=None,
           **kwargs) -> torch.Tensor:
    """Denoise ``x_t`` from step ``k`` of a ``steps``-step run to the end: the finished images (``paint``: see
    ``x0_hats``)."""
    x = x_t
    for rec in denoise(model.eval(), x_t, model.schedule, steps, "ddim", eta, generator, start=k, **kwargs):
        x = rec.x_prev
    return pictures(x, paint).clamp(-1, 1)


def fork(model, n: int, k: int, continuations: int = 8, steps: int = 50, seed: int = 0, eta: float = ETA,
         paint=None, **kwargs) -> Fork:
    """Fork ``sample(model, n, steps, seed=seed)`` at step ``k`` into ``continuations`` runs: the first with
    the run's own noise (so it ends exactly as ``sample`` does), the others with fresh noise (``paint``: see
    ``x0_hats``; the finals are then pictures, ``x_t`` stays a latent)."""
    if eta <= 0:
        raise ValueError("a fork needs fresh noise at every step: eta > 0 (eta = 0 is deterministic DDIM)")
    if continuations < 1:
        raise ValueError(f"continuations must be at least 1, got {continuations}")
    x_k, g = run_to(model, n, k, steps, seed, eta, **kwargs)
    finals = [finish(model, x_k, k, steps, eta, g if j == 0 else fresh(model, seed, k, j), paint, **kwargs)
              for j in range(continuations)]
    return Fork(k, model.schedule.subsequence(steps)[k], x_k.cpu(), torch.stack(finals))


# ----------------------------------------------------------------------------- where did it go wrong?

def point_of_no_return(model, judge, x_t: torch.Tensor, ks: list[int], continuations: int = 8, steps: int = 50,
                       eta: float = ETA, seed: int = 0, progress: bool = False, **kwargs) -> dict:
    """One drawing's x_t at the steps ``ks`` (len(ks), C, H, W): how often ``continuations`` fresh
    continuations from each end recognisable, and the first step where that is below ``RECOVERS``."""
    if len(x_t) != len(ks):
        raise ValueError(f"need one x_t per step in ks: {len(x_t)} vs {len(ks)}")
    rates = []
    for k, x in tqdm(list(zip(ks, x_t)), desc="continuing from each step", disable=not progress, leave=False):
        batch = x.unsqueeze(0).repeat(continuations, 1, 1, 1).to(next(model.parameters()).device)
        ends = finish(model, batch, k, steps, eta, fresh(model, seed, k), **kwargs)
        rates.append(float(metrics.recognisable(judge, ends).float().mean()))
    lost = [k for k, r in zip(ks, rates) if r < RECOVERS]
    return {"steps": list(ks), "recovers": rates, "no_return": lost[0] if lost else None}


# ----------------------------------------------------------------------------- what did it invent?

class KnownPixels:
    """The ``keep`` hook for inpainting: the known pixels of ``x0`` (where ``known`` is True), dusted to
    each step's noise level q(x_t' | x_0), replace the model's; at the end they are ``x0`` exactly."""

    def __init__(self, model, x0: torch.Tensor, known: torch.Tensor, seed: int = 0):
        if known.dtype != torch.bool or known.shape[-2:] != x0.shape[-2:] or known.ndim != 4:
            raise ValueError(f"known must be a bool mask (B or 1, 1, H, W) over x0's pixels {tuple(x0.shape[-2:])}, "
                             f"got {known.dtype} {tuple(known.shape)}")
        device = next(model.parameters()).device
        self.schedule, self.x0, self.known = model.schedule, x0.to(device), known.to(device)
        self.generator = fresh(model, seed, 0, 0, 0)  # (a key of its own length: no fork or restore shares it)

    def __call__(self, x_prev: torch.Tensor, t_prev: int) -> torch.Tensor:
        if t_prev < 0:
            return torch.where(self.known, self.x0, x_prev)
        eps = torch.randn(self.x0.shape, generator=self.generator, device=self.x0.device)
        return torch.where(self.known, self.schedule.q_sample(self.x0, t_prev, eps), x_prev)


def inpaint(model, x0: torch.Tensor, known: torch.Tensor, steps: int = 50, seed: int = 0, eta: float = ETA,
            **kwargs) -> torch.Tensor:
    """Fill in the unknown pixels of ``x0`` (B, C, H, W) where ``known`` (B or 1, 1, H, W) is False."""
    scenes.check_images(x0, model.config.image_size)
    return sample(model, len(x0), steps, seed=seed, eta=eta, keep=KnownPixels(model, x0, known, seed), **kwargs)


def dust(model, x0: torch.Tensor, k: int, steps: int = 50, seed: int = 0) -> torch.Tensor:
    """``x0`` dusted to the noise level of step ``k`` of a ``steps``-step run: q(x_t | x_0), t = its timestep."""
    t = model.schedule.subsequence(steps)[k]
    return model.schedule.q_sample(x0, t, torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)))


def restore(model, x_t: torch.Tensor, k: int, steps: int = 50, seed: int = 0, eta: float = ETA,
            **kwargs) -> torch.Tensor:
    """Clean a dusty picture ``x_t`` (B, C, H, W) that stands at step ``k`` of a ``steps``-step run."""
    check_sampling(len(x_t), steps, model.schedule.T, eta)
    return finish(model, x_t.to(next(model.parameters()).device), k, steps, eta, fresh(model, seed, k), **kwargs)


def versions(make, runs: int, progress: bool = False) -> torch.Tensor:
    """``runs`` versions (N, B, C, H, W) of a restoration, ``make(seed)`` for seeds 0 .. runs - 1, for ``spread``."""
    return torch.stack([make(seed) for seed in tqdm(range(runs), desc="versions", disable=not progress, leave=False)])
