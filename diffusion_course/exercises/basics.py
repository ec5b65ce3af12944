"""Exercises of notebooks 00 (welcome) and 01 (the dusty trick)."""
from __future__ import annotations

import math

import torch

from .. import images, scenes, schedules
from .core import check_function, check_number, exercise, report

# ----------------------------------------------------------------------------- 00 welcome

def _sol_00_count() -> int:
    _, labels = scenes.batch(16, seed=0)  # the 16 scenes of the grid, with their labels
    return sum(label.rocket is not None for label in labels)  # a label's rocket is None when none was drawn


@exercise("00.count_rockets", _sol_00_count)
def _check_00_count(answer) -> bool:
    truth = _sol_00_count()
    return check_number("00.count_rockets", answer, truth, 0,
                         f"{truth} of the 16 scenes have a rocket. The labels knew it too.",
                         "look again at each picture (small or tilted rockets count too), or ask the labels: "
                         "each one has a `rocket` field that is None when no rocket was drawn",
                         mistakes={"you counted the scenes *without* a rocket": 16 - truth,
                                   "you counted every scene; some have no rocket": 16})


def _sol_00_dequantize():
    def my_to_model_range(u8):
        return u8 / 127.5 - 1  # 0 -> -1, 255 -> +1: the middle of 0..255 (127.5) goes to 0
    return my_to_model_range


def _u8_cases():
    g = torch.Generator().manual_seed(0)
    return [(torch.arange(256, dtype=torch.uint8),),
            (torch.randint(0, 256, (2, 3, 4, 4), generator=g).to(torch.uint8),)]


@exercise("00.dequantize", _sol_00_dequantize)
def _check_00_dequantize(fn) -> bool:
    return check_function("00.dequantize", fn, images.dequantize, _u8_cases(),
                           "0 must become -1, 255 must become +1, and everything in between on a straight line",
                           mistakes={"[0, 1], the range for saving pictures; the model wants [-1, 1]":
                                         lambda u: u / 255,
                                     "[0, 2]: right spread, but shift it down by 1": lambda u: u / 127.5,
                                     "[-0.5, 0.5]: centred, but half the spread (divide by 127.5, not 255)":
                                         lambda u: (u - 127.5) / 255,
                                     "dividing by 128: 255 lands just short of 1 (255 / 2 = 127.5 is the middle)":
                                         lambda u: u / 128 - 1,
                                     "uint8 arithmetic wrapping around: uint8 holds 0..255, so `u8 * 2` overflows "
                                     "before you divide; make it a float first (or divide first)":
                                         lambda u: (u * 2) / 255 - 1})


# ----------------------------------------------------------------------------- 01 dusty trick

def _sol_01_q_sample():
    def my_q_sample(x0, t, eps, alpha_bar):
        return alpha_bar[t].sqrt() * x0 + (1 - alpha_bar[t]).sqrt() * eps  # amplitudes: square roots of variances
    return my_q_sample


def _q_sample_cases():
    ab = schedules.cosine().alpha_bar.float()
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    eps = torch.randn(2, 3, 8, 8, generator=g)
    return [(x0, t, eps, ab) for t in (0, 400, 999)]


@exercise("01.q_sample", _sol_01_q_sample)
def _check_01_q_sample(fn) -> bool:
    return check_function(
        "01.q_sample", fn, lambda x0, t, eps, ab: schedules.cosine().q_sample(x0, t, eps), _q_sample_cases(),
        "the shortcut mixes x_0 and ε with weights √ᾱ_t and √(1 − ᾱ_t), where ᾱ_t = alpha_bar[t]",
        mistakes={"the square roots are missing: ᾱ_t and 1 − ᾱ_t are the *variances*; the weights are their "
                  "square roots": lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps,
                  "the noise's weight lacks its square root (the drawing's has it)":
                      lambda x0, t, eps, ab: ab[t].sqrt() * x0 + (1 - ab[t]) * eps,
                  "the weights are swapped: the drawing gets √ᾱ_t, the dust √(1 − ᾱ_t)":
                      lambda x0, t, eps, ab: (1 - ab[t]).sqrt() * x0 + ab[t].sqrt() * eps,
                  "the weights sum to 1 (√ᾱ_t and 1 − √ᾱ_t): it is the *squares* of the weights that sum to 1":
                      lambda x0, t, eps, ab: ab[t].sqrt() * x0 + (1 - ab[t].sqrt()) * eps})


def _half_life(s: schedules.Schedule, level: float = 0.5) -> int:
    """The first step t where alpha_bar_t < ``level``."""
    return int((s.alpha_bar < level).nonzero()[0])


def _sol_01_half_life():
    lin, cos = schedules.linear(), schedules.cosine()
    t_lin = int((lin.alpha_bar < 0.5).nonzero()[0])  # the first step where less than half is left
    t_cos = int((cos.alpha_bar < 0.5).nonzero()[0])
    return t_lin, t_cos


@exercise("01.half_life", _sol_01_half_life)
def _check_01_half_life(answer) -> bool:
    lin, cos = schedules.linear(), schedules.cosine()
    t_lin, t_cos = _half_life(lin), _half_life(cos)
    try:
        a_lin, a_cos = (int(a) for a in answer)
    except (TypeError, ValueError):
        return report(False, "01.half_life: answer with a pair of steps: (t_linear, t_cosine)")
    near = lambda a, b: abs(a - b) <= 2  # noqa: E731  (the first step below 0.5, or the last one above)
    if near(a_lin, t_lin) and near(a_cos, t_cos):
        return report(True, f"01.half_life: linear loses half its drawing at t={t_lin}, cosine only at t={t_cos}: "
                             f"cosine keeps the drawing {t_cos - t_lin} steps longer.")
    mistakes = {"the pair is swapped: linear first, then cosine": (t_cos, t_lin),
                "you looked where √ᾱ_t (the drawing's weight) drops below 0.5; the question is about ᾱ_t, "
                "the share of its variance": (_half_life(lin, 0.25), _half_life(cos, 0.25)),
                "you looked where 1 − ᾱ_t drops below 0.5; find where ᾱ_t does":
                    (int((lin.alpha_bar > 0.5).nonzero()[0]), int((cos.alpha_bar > 0.5).nonzero()[0]))}
    for what, (m_lin, m_cos) in mistakes.items():
        if near(a_lin, m_lin) and near(a_cos, m_cos):
            return report(False, f"01.half_life: not quite — it looks like {what}.")
    wrong = "the linear" if not near(a_lin, t_lin) else "the cosine"
    return report(False, f"01.half_life: {wrong} step is off. Look for the first t where alpha_bar[t] is below "
                          "0.5 (a comparison gives a tensor of True/False; which index is the first True?)")


def _sol_01_snr_db():
    s = schedules.cosine()
    return 10 * math.log10(s.snr[500].item())  # SNR is a ratio of variances (powers): 10 log10


@exercise("01.snr_db", _sol_01_snr_db)
def _check_01_snr_db(answer) -> bool:
    s = schedules.cosine()
    snr, ab = s.snr[500].item(), s.alpha_bar[500].item()
    truth = 10 * math.log10(snr)
    return check_number("01.snr_db", answer, truth, 0.02,
                         f"SNR at t=500 under cosine is {truth:.2f} dB (a ratio of {snr:.3f}): signal and dust "
                         "are about equal halfway through, by design.",
                         "SNR = ᾱ_t / (1 − ᾱ_t); in decibels, 10 · log₁₀(SNR)",
                         mistakes={"the SNR itself, a ratio; decibels are 10 · log₁₀ of it": snr,
                                   "20 · log₁₀(SNR): 20 is for amplitudes; SNR is already a ratio of variances "
                                   "(powers), so use 10": 20 * math.log10(snr),
                                   "a natural logarithm; decibels use log base 10": 10 * math.log(snr),
                                   "ᾱ_t in decibels, not the SNR ᾱ_t / (1 − ᾱ_t)": 10 * math.log10(ab)})


