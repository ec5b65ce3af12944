"""Exercises of notebook 08 (drawing from words): classifier-free guidance in a few lines (checked against
``guidance.ClassifierFree`` on the shipped Team CNN that listens), CLIP guidance through x̂₀ (checked
against ``guidance.ClipGuidance`` on the shipped unconditional Team CNN), and picking a guidance scale
from a scoreboard (composition as high as it goes while diversity stays up)."""
from __future__ import annotations

import functools

import torch

from .. import scenes
from ..diffusion import guidance
from ..diffusion.checkpoints import load_pretrained
from ..judging.scoreboard import by_scale
from ..schedules import predict_x0
from ..words import clip
from .core import check_function, exercise


@functools.cache
def _words():
    """The frozen tiny CLIP (model, tokenizer), loaded once (open_clip builds it with random weights first:
    leave the learner's RNG alone)."""
    with torch.random.fork_rng(devices=[]):
        return clip.load(device="cpu")


@functools.cache
def _model(name: str):
    """A shipped model on the CPU, loaded once (building it draws random weights: leave the learner's RNG alone)."""
    with torch.random.fork_rng(devices=[]):
        return load_pretrained(name, "cpu")


def _dusty(model, n: int, ts, seed: int):
    """Real scenes dusted to the steps ``ts``: (x_t (n, 3, 32, 32), t (n,)), as a sampler meets them."""
    g = torch.Generator().manual_seed(seed)
    x0, _ = scenes.batch(n, seed=seed)
    t = torch.tensor(ts)
    return model.schedule.q_sample(x0, t, torch.randn(x0.shape, generator=g)), t


# ----------------------------------------------------------------------------- 08 classifier-free guidance

def _sol_08_cfg():
    def my_cfg(model, x_t, t, prompt, scale):
        with torch.no_grad():
            eps_c = model(x_t, t, prompt=prompt)  # the model hears the words...
            eps_u = model(x_t, t)  # ...and hears nothing (its null prompt, the empty caption)
        return eps_u + scale * (eps_c - eps_u)  # from silence, along what the words add, `scale` times as far
    return my_cfg


def _cfg_parts(model, x_t, t, prompt):
    with torch.no_grad():
        return model(x_t, t, prompt=prompt), model(x_t, t)


def _cfg_mistake(combine):
    """A wrong guide: ``combine(eps_c, eps_u, scale)`` in place of the right formula."""
    return lambda model, x_t, t, prompt, scale: combine(*_cfg_parts(model, x_t, t, prompt), scale)


CFG_SCALES = (3.0, 0.0, 7.5, 1.0)  # the first tells the typical mistakes apart


def _cfg_cases():
    model, words = _model("unet-words"), _words()
    said = [scenes.CHALLENGE_PROMPTS[0], scenes.CHALLENGE_PROMPTS[3], "a blue pup under a full moon", "a green rocket"]
    out = []
    for k, (caption, scale) in enumerate(zip(said, CFG_SCALES)):
        x_t, t = _dusty(model, 2, [900 - 250 * k, 600 - 150 * k], seed=80 + k)
        out.append((model, x_t, t, clip.prompt(*words, caption), scale))
    return out


def _reference_cfg(model, x_t, t, prompt, scale):
    return guidance.ClassifierFree(scale)(model, x_t, t, {}, prompt=prompt)


@exercise("08.cfg", _sol_08_cfg)
def _check_08_cfg(fn) -> bool:
    return check_function("08.cfg", fn, _reference_cfg, _cfg_cases(),
                           "ask the model twice, with the prompt (ε̂_c) and with nothing (ε̂_u, its null prompt), "
                           "then start from ε̂_u and go `scale` times the difference ε̂_c − ε̂_u",
                           mistakes={"the push is added to ε̂_c instead of ε̂_u: that is Ho & Salimans' form "
                                     "(1 + w) ε̂_c − w ε̂_u with w = scale, one push further than asked; here the "
                                     "scale is their w + 1, so start from the unconditional ε̂_u":
                                         _cfg_mistake(lambda c, u, s: c + s * (c - u)),
                                     "the push points away from the words: the direction is ε̂_c − ε̂_u":
                                         _cfg_mistake(lambda c, u, s: u + s * (u - c)),
                                     "the conditional and unconditional guesses are swapped":
                                         _cfg_mistake(lambda c, u, s: c + s * (u - c)),
                                     "only the scaled conditional guess, scale × ε̂_c: the unconditional one must "
                                     "be there too":
                                         _cfg_mistake(lambda c, u, s: s * c),
                                     "the scale is not used: that is the plain conditional guess ε̂_c":
                                         _cfg_mistake(lambda c, u, s: c)},
                           right=f"your guide matches guidance.ClassifierFree on the shipped Team CNN that listens, "
                                 f"at scales {', '.join(f'{s:g}' for s in sorted(CFG_SCALES))}.")


# ----------------------------------------------------------------------------- 08 CLIP guidance through x0_hat

class CaptionSimilarity:
    """The tiny CLIP's cosine similarity (B,) of clean guesses x0_hat (B, 3, 32, 32) with one caption,
    differentiable (what ``guidance.ClipGuidance.similarity`` computes)."""

    def __init__(self, caption: str):
        self.caption = caption
        self.guide = guidance.ClipGuidance(*_words(), caption, 0.0)

    def __call__(self, x0_hat: torch.Tensor) -> torch.Tensor:
        return self.guide.similarity(x0_hat)

    def __repr__(self) -> str:
        return f"CaptionSimilarity({self.caption!r})"


def _sol_08_clip_guide():
    def my_clip_guide(model, x_t, t, similarity, scale):
        alpha_bar = model.schedule.alpha_bar[t].float().view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)
            eps_hat = model(x, t)  # keep the graph: the gradient flows back through the model
            x0_hat = (x - (1 - alpha_bar).sqrt() * eps_hat) / alpha_bar.sqrt()  # the clean guess
            (grad,) = torch.autograd.grad(similarity(x0_hat).sum(), x)  # d sim / d x_t, per image
        return eps_hat.detach() - scale * (1 - alpha_bar).sqrt() * grad  # less noise where the caption wants more
    return my_clip_guide


def _clip_variant(model, x_t, t, similarity, scale, reads: str = "x0_hat", sign: float = -1.0,
                  noise_factor: bool = True, through_model: bool = True) -> torch.Tensor:
    """A CLIP-guided ε̂ with one typical mistake switched on (the defaults: the right answer): the CLIP
    reads x_t (``reads="x_t"``), the push has the wrong sign, lacks sqrt(1 - alpha_bar), or the
    gradient stops at x0_hat instead of flowing back through the model."""
    alpha_bar = model.schedule.alpha_bar[t].float().view(-1, 1, 1, 1)
    with torch.enable_grad():
        x = x_t.detach().requires_grad_(True)
        eps_hat = model(x, t)
        seen = predict_x0(x, eps_hat if through_model else eps_hat.detach(), alpha_bar) if reads == "x0_hat" else x
        (grad,) = torch.autograd.grad(similarity(seen).sum(), x)
    return eps_hat.detach() + sign * scale * ((1 - alpha_bar).sqrt() if noise_factor else 1.0) * grad


def _clip_cases():
    model = _model("unet-scenes")
    out = []
    for k, (caption, scale, ts) in enumerate(((scenes.CHALLENGE_PROMPTS[1], 30.0, [800, 650]),
                                              (scenes.CHALLENGE_PROMPTS[4], 100.0, [500, 300]),
                                              ("a blue pup under a full moon", 10.0, [900, 150]))):
        x_t, t = _dusty(model, 2, ts, seed=88 + k)
        out.append((model, x_t, t, CaptionSimilarity(caption), scale))
    return out


def _reference_clip(model, x_t, t, similarity, scale):
    return guidance.ClipGuidance(*_words(), similarity.caption, scale)(model, x_t, t, {})


@exercise("08.clip_guide", _sol_08_clip_guide)
def _check_08_clip_guide(fn) -> bool:
    return check_function("08.clip_guide", fn, _reference_clip, _clip_cases(),
                           "with gradients on for x_t: ε̂ from the model, x̂_0 from ε̂, the similarity of x̂_0, "
                           "its gradient with respect to x_t; then ε̂ − scale · √(1 − ᾱ_t) · gradient",
                           mistakes={"the CLIP read the dusty x_t, not the clean guess x̂_0: take the gradient "
                                     "of similarity(x̂_0(x_t))":
                                         lambda *a: _clip_variant(*a, reads="x_t"),
                                     "the push goes away from the caption: subtract the gradient from ε̂, so that "
                                     "x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t moves up the similarity":
                                         lambda *a: _clip_variant(*a, sign=1.0),
                                     "the √(1 − ᾱ_t) factor is missing: it turns a push on x_t into a push on ε̂":
                                         lambda *a: _clip_variant(*a, noise_factor=False),
                                     "the gradient stops at x̂_0: ε̂ was computed without gradients (or detached), "
                                     "so it does not flow back through the model":
                                         lambda *a: _clip_variant(*a, through_model=False)},
                           right="your guide matches guidance.ClipGuidance on the shipped unconditional Team CNN "
                                 "(unet-scenes), on 3 captions at 3 scales.")


# ----------------------------------------------------------------------------- 08 picking a scale

def _sol_08_pick_scale():
    def my_pick_scale(scores, min_diversity):
        def mean(cells, key):
            return sum(c[key] for c in cells) / len(cells)

        by_scale = {}
        for s in scores:  # gather each scale's cells (one per prompt)
            by_scale.setdefault(s["scale"], []).append(s)
        allowed = {scale: cells for scale, cells in by_scale.items() if mean(cells, "diversity") >= min_diversity}
        return max(allowed, key=lambda scale: mean(allowed[scale], "composition"))  # best composition left
    return my_pick_scale


def _means(scores) -> dict[float, dict]:
    """Each scale's cells averaged over the prompts (``scoreboard.by_scale`` of the one team and kind they hold)."""
    return by_scale(scores, scores[0]["team"], scores[0]["kind"])


def _scale_mistakes():
    def ignore_diversity(scores, floor):
        means = _means(scores)
        return max(means, key=lambda s: means[s]["composition"])

    def largest_allowed(scores, floor):
        return max(s for s, m in _means(scores).items() if m["diversity"] >= floor)

    def best_cell(scores, floor):
        allowed = {s for s, m in _means(scores).items() if m["diversity"] >= floor}
        return max((c for c in scores if c["scale"] in allowed), key=lambda c: c["composition"])["scale"]

    def returns_composition(scores, floor):
        return max(m["composition"] for m in _means(scores).values() if m["diversity"] >= floor)

    return {"the best composition over all scales: the diversity floor was not applied":
                ignore_diversity,
            "the largest scale that keeps the diversity; among those, pick the one with the best mean composition":
                largest_allowed,
            "the scale of the single best prompt; average each scale's composition over all its prompts first":
                best_cell,
            "the best composition itself; return the scale that gives it": returns_composition}


SCOREBOARDS = (  # (scales, mean composition, mean diversity at each scale, the diversity floor, the scale where
                #  one prompt does far better than the rest)
    ((0.0, 1.0, 2.0, 3.0, 5.0, 7.5), (0.2, 0.35, 0.5, 0.45, 0.6, 0.55), (1.1, 1.0, 0.9, 0.85, 0.7, 0.6), 0.8, 1.0),
    ((0.0, 10.0, 30.0, 100.0, 300.0), (0.05, 0.2, 0.4, 0.5, 0.3), (1.1, 1.05, 0.9, 0.75, 0.45), 0.8, 10.0),
    ((0.0, 1.0, 3.0, 5.0, 7.5, 10.0), (0.2, 0.3, 0.55, 0.5, 0.65, 0.6), (1.1, 1.0, 0.92, 0.85, 0.75, 0.6), 0.85, 0.0),
)


def _scoreboards():
    """Made-up scoreboards of one team and one kind of guidance, shaped like ``bench``'s (``composition.Score``):
    composition rises (not always steadily) with the scale while diversity falls; each prompt has its own ups and
    downs, and at one scale one prompt does far better than the others (the means are as in ``SCOREBOARDS``)."""
    spread = (0.08, -0.04, 0.02, -0.03, -0.03)  # each prompt's own offset (they sum to 0)
    out = []
    for scales, composition, diversity, floor, lucky in SCOREBOARDS:
        rows = []
        for p, prompt in enumerate(scenes.CHALLENGE_PROMPTS):
            for s, comp, div in zip(scales, composition, diversity):
                jump = (0.6 if p == 2 else -0.15) if s == lucky else spread[p]
                rows.append({"team": "Team CNN", "prompt": prompt, "kind": "cfg", "scale": s,
                             "n": 64, "composition": round(comp + jump, 3), "recognisable": 0.9,
                             "diversity": round(div + spread[p] / 4, 3)})
        out.append((rows, floor))
    return out


@exercise("08.pick_scale", _sol_08_pick_scale)
def _check_08_pick_scale(fn) -> bool:
    return check_function("08.pick_scale", fn, _sol_08_pick_scale(), _scoreboards(),
                           "average composition and diversity over the prompts at each scale; keep the scales whose "
                           "mean diversity is at least min_diversity; return the kept scale with the highest mean "
                           "composition",
                           mistakes=_scale_mistakes(),
                           right="your pick matches on all 3 scoreboards.")
