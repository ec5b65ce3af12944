"""Exercises of notebook 02 (cleaning up the dust): x̂₀, a DDIM step, the training loss."""
from __future__ import annotations

import torch

from .. import config, scenes, schedules
from ..diffusion import training
from ..models import build
from .core import case_args, check_function, exercise, report


def _x_eps_ab_cases():
    g = torch.Generator().manual_seed(2)
    ab = schedules.cosine().alpha_bar.float()
    return [(torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g), ab[t], ab[tp])
            for t, tp in ((999, 979), (500, 480), (40, 20))]



# ----------------------------------------------------------------------------- 02 cleaning up

def _sol_02_x0_hat():
    def my_x0_hat(x_t, eps_hat, alpha_bar_t):
        return (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()  # the shortcut, solved for x_0
    return my_x0_hat


@exercise("02.x0_hat", _sol_02_x0_hat)
def _check_02_x0_hat(fn) -> bool:
    return check_function("02.x0_hat", fn, schedules.predict_x0, [c[:3] for c in _x_eps_ab_cases()],
                           "undo the shortcut x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε: solve it for x_0",
                           mistakes={"the dust's weight lacks its square root":
                                         lambda x, e, ab: (x - (1 - ab) * e) / ab.sqrt(),
                                     "x_t minus the dust is not yet divided by √ᾱ_t":
                                         lambda x, e, ab: x - (1 - ab).sqrt() * e,
                                     "you divided by ᾱ_t instead of its square root":
                                         lambda x, e, ab: (x - (1 - ab).sqrt() * e) / ab,
                                     "the dust is added, not removed (a wrong sign)":
                                         lambda x, e, ab: (x + (1 - ab).sqrt() * e) / ab.sqrt()})


def _sol_02_ddim_step():
    def my_ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev):
        x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()  # the model's guess of x_0
        return alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev).sqrt() * eps_hat  # re-dusted to t'
    return my_ddim_step


@exercise("02.ddim_step", _sol_02_ddim_step)
def _check_02_ddim_step(fn) -> bool:
    x0_hat = schedules.predict_x0
    return check_function("02.ddim_step", fn, _sol_02_ddim_step(), _x_eps_ab_cases(),
                           "first estimate x̂_0, then dust it again to t' with the *same* ε̂",
                           mistakes={"you returned x̂_0 itself; dust it again to t'":
                                         lambda x, e, ab, abp: x0_hat(x, e, ab),
                                     "you re-dusted to t, not to t' (that gives x_t back): use alpha_bar_prev":
                                         lambda x, e, ab, abp: x,
                                     "alpha_bar_t and alpha_bar_prev are swapped":
                                         lambda x, e, ab, abp: abp ** -0.5 * (x - (1 - abp).sqrt() * e) * ab.sqrt()
                                         + (1 - ab).sqrt() * e,
                                     "the re-dusting has no square roots":
                                         lambda x, e, ab, abp: abp * x0_hat(x, e, ab) + (1 - abp) * e})


GAMMA = config.TrainConfig().min_snr_gamma  # the package's Min-SNR gamma (Hang et al. 2023)


def _sol_02_training_loss():
    def my_loss(model, x0, generator, gamma=GAMMA):
        s = model.schedule
        t = torch.randint(0, s.T, (x0.shape[0],), generator=generator)  # 1. a random step for each drawing
        eps = torch.randn(x0.shape, generator=generator)  # 2. fresh dust, eps ~ N(0, I)
        x_t = s.q_sample(x0, t, eps)  # 3. dust the drawings (the shortcut)
        eps_hat = model(x_t, t)  # 4. the model's guess of the dust
        w = training.min_snr_weight(s.snr[t].float(), gamma)  # 5. min(SNR, gamma) / SNR, one per drawing
        return (w * ((eps_hat - eps) ** 2).mean(dim=(1, 2, 3))).mean()  # weighted squared error, batch mean
    return my_loss


def _loss_variant(model, x0, generator, eps_first=False, dust_sqrt=True, sees="x_t", target="eps", weight="min_snr"):
    """A training loss on the reference's batch with one typical mistake switched on (the defaults
    give the reference): ε drawn first, dusting without square roots, the model shown x_0, the
    guess compared with x_0, or the weight left out ("none") or not divided by SNR ("min")."""
    s, B = model.schedule, x0.shape[0]
    if eps_first:
        eps = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, s.T, (B,), generator=generator)
    else:
        t = torch.randint(0, s.T, (B,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
    ab = s.alpha_bar[t].float().view(-1, 1, 1, 1)
    x_t = s.q_sample(x0, t, eps) if dust_sqrt else ab * x0 + (1 - ab) * eps
    eps_hat = model(x_t if sees == "x_t" else x0, t)
    error = ((eps_hat - (eps if target == "eps" else x0)) ** 2).mean(dim=(1, 2, 3))
    snr = s.snr[t].float()
    w = {"min_snr": training.min_snr_weight(snr, GAMMA), "min": snr.clamp(max=GAMMA), "none": torch.ones_like(snr)}
    return (w[weight] * error).mean()


def _loss_cases():
    with torch.random.fork_rng(devices=[]):  # leave the learner's random numbers alone
        torch.manual_seed(0)
        model = build(config.preset("unet-tiny"))
    x0, _ = scenes.batch(4, seed=0)
    return [lambda seed=seed: (model, x0, torch.Generator().manual_seed(seed)) for seed in (0, 1, 2)]


@exercise("02.training_loss", _sol_02_training_loss)
def _check_02_training_loss(fn) -> bool:
    cases = _loss_cases()
    loss = fn(*case_args(cases[0]))
    if loss is None:
        print("⏳ 02.training_loss: your function returns None — write it and run the cell again.")
        return False
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        return report(False, "02.training_loss: return one number for the whole batch (a 0-d tensor: the mean "
                              f"over drawings), not {type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
    if not loss.requires_grad:
        return report(False, "02.training_loss: your loss carries no gradient, so training could not learn from "
                              "it: compute it from the model's output, without .item(), .detach() or torch.no_grad()")
    return check_function(
        "02.training_loss", fn, _loss_variant, cases,
        "draw t, then ε, from `generator`; dust x_0 to x_t; ask the model; weight each drawing's squared error",
        mistakes={"ε was drawn before t: draw t first, then ε, so your batch is the same as the checker's":
                      lambda m, x0, g: _loss_variant(m, x0, g, eps_first=True),
                  "the plain loss, right so far: now multiply each drawing's squared error by its Min-SNR weight w(t)":
                      lambda m, x0, g: _loss_variant(m, x0, g, weight="none"),
                  "the weight is min(SNR, γ); divide it by SNR":
                      lambda m, x0, g: _loss_variant(m, x0, g, weight="min"),
                  "the guess is compared with x_0; the model predicts the dust ε":
                      lambda m, x0, g: _loss_variant(m, x0, g, target="x0"),
                  "the model was shown the clean x_0 instead of the dusty x_t":
                      lambda m, x0, g: _loss_variant(m, x0, g, sees="x0"),
                  "the dusting has no square roots: use the shortcut of notebook 01":
                      lambda m, x0, g: _loss_variant(m, x0, g, dust_sqrt=False)})


