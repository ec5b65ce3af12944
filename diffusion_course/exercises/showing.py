"""Exercises of notebook 10 (showing its work): the step at which a drawing is committed, from whether each
sample's x̂₀ agrees with its finished drawing at each step (checked against ``analysis.commitment``); the share
of a restoration's pixels that are confidently wrong (its versions agree, with ``analysis.spread``, and are far
from the truth); and the known pixels put back at each step of an inpainting (against the schedule's
q(x_t' | x_0), as ``analysis.KnownPixels`` does)."""
from __future__ import annotations

import torch

from .. import scenes
from ..looking import analysis
from .core import check_function, exercise, report
from .guidance import _model

# ----------------------------------------------------------------------------- 10 when is it committed?


def _sol_10_committed_step():
    def my_committed_step(agree, share):
        settled = agree.clone()  # (S, B): will be "agrees at s and at every later step"
        for s in range(len(agree) - 2, -1, -1):  # from the end backwards
            settled[s] &= settled[s + 1]
        shares = settled.float().mean(dim=1)  # (S,): the settled share at each step
        for s, held in enumerate(shares):
            if held >= share:
                return s  # the first step from which enough samples never change their mind again
        return None  # not even at the last step
    return my_committed_step


def _reference_committed_step(agree: torch.Tensor, share: float) -> int | None:
    """The package's answer: ``analysis.commitment`` of a run in which every fact agrees with the finished
    drawing exactly when ``agree`` says the drawing does; the layout's committed step."""
    S, B = agree.shape
    F = len(analysis.FACTS)
    over = agree[..., None].expand(S, B, F)  # (S, B, F)
    return analysis.commitment(over, torch.ones(B, F, dtype=torch.bool), list(range(S)), share).step[analysis.LAYOUT]


FLICKER = (  # steps (rows) x samples (columns): 1 = x̂₀ agrees with the finished drawing at that step
    "1111100000",
    "1111111000",
    "1111111111",  # everyone agrees for a moment...
    "0111111101",
    "1101111011",  # ...and two change their minds again
    "1111111111",  # from here on nine of ten agree at every step
    "1111111110",
    "1111111111",  # the last one settles only at the end
)


def _commit_cases() -> list[tuple[torch.Tensor, float]]:
    """(agree (S, B) bool, share): a hand-made run that tells the typical mistakes apart, a random one
    (each sample flickers until a step of its own, then keeps its answer), and one that never commits."""
    flicker = torch.tensor([[c == "1" for c in row] for row in FLICKER])
    g = torch.Generator().manual_seed(10)
    S, B = 25, 32
    settles = torch.randint(3, 23, (B,), generator=g)  # the step from which each sample keeps its answer
    steps = torch.arange(S)[:, None]
    agree = (torch.rand(S, B, generator=g) < 0.6) & (steps != settles - 1) | (steps >= settles)
    never = torch.ones(6, 5, dtype=torch.bool)
    never[-1, 0] = False  # one of five changes its mind at the very last step
    return [(flicker, 0.9), (agree, 0.75), (never, 0.9)]


def _first(ok: torch.Tensor) -> int | None:
    hits = ok.nonzero()
    return int(hits[0]) if len(hits) else None


def _commit_mistakes() -> dict:
    def settled(agree):
        return agree.flip(0).cumprod(dim=0).flip(0).float().mean(dim=1)

    return {"the first step at which enough samples agree *at that step*: a sample that agrees now may change its "
            "mind later; it has settled only if it agrees at this step and at every later one":
                lambda agree, share: _first(agree.float().mean(dim=1) >= share),
            "a strict comparison: the share must be at least `share` (>=), not more than it":
                lambda agree, share: _first(settled(agree) > share),
            "the last step before the commitment: return the first step whose settled share reaches `share`":
                lambda agree, share: (lambda s: None if s is None else s - 1)(_first(settled(agree) >= share))}


def _as_step(value) -> int | None:
    """A learner's step (int, tensor or None) as an int or None."""
    return None if value is None else int(value)


@exercise("10.committed_step", _sol_10_committed_step)
def _check_10_committed_step(fn) -> bool:
    name = "10.committed_step"
    cases = _commit_cases()
    try:
        answers = [_as_step(fn(agree.clone(), share)) for agree, share in cases]
    except (TypeError, ValueError, RuntimeError):
        return report(False, f"{name}: answer with a step number (an int), or None when no step qualifies")
    if all(a is None for a in answers):  # the stub, not written yet: no hint that gives the answer away
        print(f"⏳ {name}: your function returns None — write it and run the cell again.")
        return False
    for (agree, share), got in zip(cases, answers):
        want = _reference_committed_step(agree, share)
        if got == want:
            continue
        if got is None and want is not None:  # agreement carried forward from step 0 never holds
            print(f"⏳ {name}: your function returns None for a run that does commit: carry the agreement backward "
                  "from the last step: a sample has settled at step s when it agrees at s and at every step *after* "
                  "it, not at every step up to s.")
            return False
        for what, wrong in _commit_mistakes().items():
            if got == wrong(agree, share):
                return report(False, f"{name}: not quite — it looks like {what}.")
        return report(False, f"{name}: step {got} is off — mark each sample as settled at step s when it agrees at "
                             f"s and at every later step, average over the samples, and return the first step where "
                             f"that share is at least `share` (None if none is)")
    return report(True, f"{name}: your committed steps match analysis.commitment on all {len(_commit_cases())} runs.")


# ----------------------------------------------------------------------------- 10 doubt is not error

def _sol_10_confidently_wrong():
    def my_confidently_wrong(versions, truth, calm, off):
        spread = versions.std(dim=0).mean(dim=1)  # (N, B, C, H, W) -> (B, H, W): where the versions disagree
        error = (versions - truth).abs().mean(dim=(0, 2))  # (B, H, W): how far they are from the truth, on average
        return ((spread < calm) & (error > off)).float().mean()  # agree, yet wrong: the share of all B x H x W pixels
    return my_confidently_wrong


def _reference_confidently_wrong(versions, truth, calm, off):
    """The share of pixels where the versions agree (``analysis.spread`` below ``calm``) and are far from the
    truth (mean absolute error over versions and colour channels above ``off``)."""
    error = (versions - truth).abs().mean(dim=(0, 2))
    return ((analysis.spread(versions) < calm) & (error > off)).float().mean()


def _confident_cases():
    """Versions (N, B, C, H, W) of real scenes and the truth (B, C, H, W): versions with a block that every one
    paints the same wrong red (confidently wrong) and pixels each changes at random (doubt); versions that agree on
    a colour shift (red up, green down: wrong, though the shift averages to zero over the channels); and two
    versions wrong in opposite directions (wrong each, right in their mean). The order matters: a wrong answer is
    diagnosed on the first set it fails, and each set is the first that one typical slip fails."""
    g = torch.Generator().manual_seed(11)
    truth, _ = scenes.batch(3, seed=11)
    shifted = truth.expand(3, -1, -1, -1, -1).clone()
    shifted[:, :, 0, :12, :12] += 0.8
    shifted[:, :, 1, :12, :12] -= 0.8
    versions = truth.expand(4, -1, -1, -1, -1).clone()
    versions[:, :, 0, 4:12, 4:12] = -truth[:, 0, 4:12, 4:12]  # all four agree on the wrong red: confidently wrong
    edits = torch.rand(4, 3, 1, 32, 32, generator=g) < 0.15  # doubt: each version changes its own pixels
    versions = torch.where(edits, torch.rand(4, 3, 3, 32, 32, generator=g) * 2 - 1, versions)
    split = truth.expand(2, -1, -1, -1, -1).clone()
    split[0, :, :, 20:, 20:] += 0.8
    split[1, :, :, 20:, 20:] -= 0.8
    return [(versions, truth, 0.1, 0.3), (versions, truth, 0.3, 0.5), (shifted, truth, 0.1, 0.3),
            (split, truth, 2.0, 0.5)]


def _confident_mistakes() -> dict:
    ref = _reference_confidently_wrong
    return {"the error of the versions' average picture: average each version's distance from the truth instead":
                lambda v, x, calm, off: ((analysis.spread(v) < calm) & ((v.mean(0) - x).abs().mean(1) > off))
                .float().mean(),
            "the error was not taken as a distance, so errors of opposite signs cancel: average "
            "(versions - truth).abs()":
                lambda v, x, calm, off: ((analysis.spread(v) < calm) & ((v - x).mean(dim=(0, 2)).abs() > off))
                .float().mean(),
            "where the versions *disagree* and are wrong: confidently wrong means a spread below `calm`":
                lambda v, x, calm, off: ((analysis.spread(v) >= calm) & ((v - x).abs().mean(dim=(0, 2)) > off))
                .float().mean(),
            "a count of pixels: return the share of all B × H × W pixels":
                lambda v, x, calm, off: ref(v, x, calm, off) * v[0, :, 0].numel()}


@exercise("10.confidently_wrong", _sol_10_confidently_wrong)
def _check_10_confidently_wrong(fn) -> bool:
    return check_function("10.confidently_wrong", fn, _reference_confidently_wrong, _confident_cases(),
                          "the spread is the standard deviation over the versions (dim 0) averaged over the colour "
                          "channels; the error is each version's absolute distance from the truth, averaged over "
                          "versions and colour channels; count the pixels where spread < calm and error > off, "
                          "as a share of all B × H × W",
                          mistakes=_confident_mistakes(),
                          right="your share matches on all 4 sets of versions, including errors of opposite signs.")


# ----------------------------------------------------------------------------- 10 putting the evidence back

def _sol_10_put_back():
    def my_put_back(x_prev, x0, known, t_prev, eps, alpha_bar):
        if t_prev < 0:  # the last step: the finished picture keeps the evidence exactly
            return torch.where(known, x0, x_prev)
        ab = alpha_bar[t_prev]
        dusted = ab.sqrt() * x0 + (1 - ab).sqrt() * eps  # the evidence, as dusty as x_prev: q(x_t' | x_0)
        return torch.where(known, dusted, x_prev)  # known pixels from the evidence, the rest from the model
    return my_put_back


def _reference_put_back(x_prev, x0, known, t_prev, eps, alpha_bar):
    """What ``analysis.KnownPixels`` does at step t_prev, with the noise ``eps`` (it draws its own)."""
    if t_prev < 0:
        return torch.where(known, x0, x_prev)
    return torch.where(known, _model("unet-scenes").schedule.q_sample(x0, t_prev, eps), x_prev)


def _put_back_cases():
    """(x_prev, x0, known, t_prev, eps, alpha_bar): real scenes; the right half unknown, then a random mask per
    image; a step early in the run, one late, and the very end (t_prev = -1)."""
    alpha_bar = _model("unet-scenes").schedule.alpha_bar
    g = torch.Generator().manual_seed(12)
    x0, _ = scenes.batch(2, seed=12)
    half = torch.ones(1, 1, 32, 32, dtype=torch.bool)
    half[..., 16:] = False
    spots = torch.rand(2, 1, 32, 32, generator=g) < 0.5
    out = []
    for known, t_prev in ((half, 799), (spots, 299), (half, -1)):
        out.append((torch.randn(x0.shape, generator=g), x0, known, t_prev, torch.randn(x0.shape, generator=g),
                    alpha_bar))
    return out


def _put_back_mistakes() -> dict:
    def dusted(x0, eps, ab, roots=True):
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps if roots else ab * x0 + (1 - ab) * eps

    return {"at the last step t_prev is -1, and alpha_bar[-1] is the *noisiest* step in Python: there, put x0 "
            "itself back":
                lambda x, x0, k, t, eps, ab: torch.where(k, dusted(x0, eps, ab[t]), x),
            "the known pixels are pasted back clean: at step t_prev they must carry that step's dust, "
            "q(x_t' | x_0), or the seam between evidence and invention never blends":
                lambda x, x0, k, t, eps, ab: torch.where(k, x0, x),
            "the mask is the wrong way round: keep the evidence where known is True, the model's pixels elsewhere":
                lambda x, x0, k, t, eps, ab: torch.where(k, x, dusted(x0, eps, ab[t]) if t >= 0 else x0),
            "the square roots are missing: √ᾱ x0 + √(1 − ᾱ) ε":
                lambda x, x0, k, t, eps, ab: torch.where(k, dusted(x0, eps, ab[t], roots=False) if t >= 0 else x0,
                                                         x)}


@exercise("10.put_back", _sol_10_put_back)
def _check_10_put_back(fn) -> bool:
    return check_function("10.put_back", fn, _reference_put_back, _put_back_cases(),
                           "where known is True: the evidence x0 dusted to step t_prev with the given eps, "
                           "√ᾱ x0 + √(1 − ᾱ) eps with ᾱ = alpha_bar[t_prev] (x0 itself when t_prev is -1); "
                           "elsewhere: x_prev unchanged",
                           mistakes=_put_back_mistakes(),
                           right="your hook puts the evidence back as analysis.KnownPixels does: early, late and "
                                 "at the very end.")
