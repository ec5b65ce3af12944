"""Checkers for the notebooks' exercises.

Each exercise has a checker that tells the learner, in words, whether their answer is
right and, if not, what to look at; and a reference solution that ``solution(name)``
prints. A checker recomputes the right answer from the package (never a typed-in number),
and where a wrong answer matches a typical mistake (a missing square root, a wrong sign,
swapped arguments, decibels instead of a ratio) it names that mistake — without pasting
the solution. A checker returns True/False and never raises on a wrong answer, so a
notebook with unfinished exercises still runs top to bottom.

    >>> from diffusion_course import exercises
    >>> exercises.check("01.q_sample", my_q_sample)
    >>> exercises.solution("01.q_sample")          # prints the solution's code, when you ask
    >>> exercises.verify("01.q_sample", "01.snr_db")  # CI: every solution passes, one line each
"""
from __future__ import annotations

import inspect
import math
from typing import Callable

import torch

from . import schedules

_CHECKERS: dict[str, Callable] = {}
_SOLUTIONS: dict[str, Callable] = {}


def exercise(name: str, solution: Callable):
    """Register a checker under ``name`` with its reference solution."""
    def wrap(fn):
        _CHECKERS[name] = fn
        _SOLUTIONS[name] = solution
        return fn
    return wrap


def _report(ok: bool, message: str) -> bool:
    print(("✅ " if ok else "❌ ") + message)
    return ok


def check(name: str, answer) -> bool:
    """Check ``answer`` for exercise ``name``; prints a verdict and returns True/False."""
    if name not in _CHECKERS:
        raise KeyError(f"no exercise {name!r}; exercises: {', '.join(_CHECKERS)}")
    if answer is None or answer is Ellipsis:
        print(f"⏳ {name}: not answered yet — replace the `None` with your answer and run the cell again.")
        return False
    try:
        return _CHECKERS[name](answer)
    except Exception as e:  # a learner's code may fail in any way; say how, do not crash the notebook
        return _report(False, f"{name}: your answer raised {type(e).__name__}: {e}")


def verify(*names: str) -> bool:
    """Check the reference solution of each exercise (what ``Run all`` does for CI): prints one
    ✅/❌ line per exercise and no solution code. True when all pass."""
    return all([check(name, solution(name, show=False)) for name in names])


def solution(name: str, show: bool = True):
    """The reference solution of exercise ``name`` (printed as source when ``show``)."""
    if name not in _SOLUTIONS:
        raise KeyError(f"no exercise {name!r}; exercises: {', '.join(_SOLUTIONS)}")
    sol = _SOLUTIONS[name]
    if show:
        print(inspect.getsource(sol))
    return sol()


# ----------------------------------------------------------------------------- 00 welcome

def _sol_00_count() -> int:
    from . import scenes
    _, labels = scenes.batch(16, seed=0)
    return sum(l.rocket is not None for l in labels)


@exercise("00.count_rockets", _sol_00_count)
def _check_00_count(answer) -> bool:
    truth = _sol_00_count()
    if not isinstance(answer, int):
        return _report(False, f"answer with a whole number (an int), not {type(answer).__name__}")
    if answer == truth:
        return _report(True, f"yes: {truth} of the 16 scenes have a rocket. The labels knew it too.")
    hint = "too many: look again at each picture" if answer > truth else "too few: small or tilted ones count too"
    return _report(False, f"{answer} is not it — {hint}. Try `sum(l.rocket is not None for l in labels)`.")


# ----------------------------------------------------------------------------- 01 dusty trick

def _sol_01_q_sample():
    def my_q_sample(x0, t, eps, alpha_bar):
        return alpha_bar[t].sqrt() * x0 + (1 - alpha_bar[t]).sqrt() * eps
    return my_q_sample


@exercise("01.q_sample", _sol_01_q_sample)
def _check_01_q_sample(fn) -> bool:
    s = schedules.cosine()
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    eps = torch.randn(2, 3, 8, 8, generator=g)
    for t in (0, 400, 999):
        got = fn(x0, t, eps, s.alpha_bar.float())
        if got is None:
            print("⏳ 01.q_sample: your function returns None — write the formula and run the cell again.")
            return False
        got = torch.as_tensor(got)
        want = s.q_sample(x0, t, eps)
        if got.shape != want.shape:
            return _report(False, f"at t={t} your x_t has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
        if not torch.allclose(got.float(), want, atol=1e-4):
            if torch.allclose(got.float(), s.alpha_bar[t].float() * x0 + (1 - s.alpha_bar[t].float()) * eps, atol=1e-4):
                return _report(False, "close! the weights are square roots: sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t)")
            return _report(False, f"at t={t} your x_t differs from sqrt(ab)*x0 + sqrt(1-ab)*eps "
                                  f"by up to {(got.float() - want).abs().max():.3f}")
    return _report(True, "your dusting matches q(x_t | x_0) at t = 0, 400 and 999.")


def _half_life(s: schedules.Schedule) -> int:
    return int((s.alpha_bar < 0.5).nonzero()[0])


def _sol_01_half_life():
    lin, cos = schedules.linear(), schedules.cosine()
    t_lin = int((lin.alpha_bar < 0.5).nonzero()[0])
    t_cos = int((cos.alpha_bar < 0.5).nonzero()[0])
    return t_lin, t_cos


@exercise("01.half_life", _sol_01_half_life)
def _check_01_half_life(answer) -> bool:
    t_lin, t_cos = _half_life(schedules.linear()), _half_life(schedules.cosine())
    try:
        a_lin, a_cos = (int(a) for a in answer)
    except (TypeError, ValueError):
        return _report(False, "answer with a pair of steps: (t_linear, t_cosine)")
    ok_lin, ok_cos = abs(a_lin - t_lin) <= 2, abs(a_cos - t_cos) <= 2
    if ok_lin and ok_cos:
        return _report(True, f"linear loses half its signal at t={t_lin}, cosine only at t={t_cos}: "
                             f"cosine keeps the drawing {t_cos - t_lin} steps longer.")
    wrong = "the linear" if not ok_lin else "the cosine"
    return _report(False, f"{wrong} step is off. Look for the first t where alpha_bar[t] < 0.5 "
                          "(hint: `(s.alpha_bar < 0.5).nonzero()[0]`).")


def _sol_01_snr_db():
    s = schedules.cosine()
    return 10 * math.log10(s.snr[500].item())


@exercise("01.snr_db", _sol_01_snr_db)
def _check_01_snr_db(answer) -> bool:
    truth = _sol_01_snr_db()
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return _report(False, "answer with a number of decibels")
    if abs(answer - truth) < 0.05:
        return _report(True, f"SNR at t=500 under cosine is {truth:.2f} dB: signal and dust are about equal "
                             "halfway through, by design.")
    if abs(answer - schedules.cosine().snr[500].item()) < 1e-3:
        return _report(False, "that is the SNR itself; decibels are 10 * log10(SNR)")
    return _report(False, f"{answer:.2f} dB is off; SNR = alpha_bar / (1 - alpha_bar), in dB 10 * log10(SNR).")


def _close(got, want, atol: float = 1e-4) -> bool:
    got, want = torch.as_tensor(got, dtype=torch.float32), torch.as_tensor(want, dtype=torch.float32)
    return got.shape == want.shape and torch.allclose(got, want, atol=atol, rtol=1e-4)


def _diagnose(name: str, got, mistakes: dict, args=()) -> bool:
    """Report a wrong answer, naming the typical mistake it matches (each ``mistakes`` value is a
    function of ``args`` or a value), or False if it matches none."""
    for what, wrong in (mistakes or {}).items():
        try:
            if _close(got, wrong(*args) if callable(wrong) else wrong):
                return _report(False, f"{name}: not quite — it looks like {what}.")
        except (TypeError, ValueError, RuntimeError):
            continue
    return False


def _check_function(name: str, fn, reference, cases, hint: str, mistakes: dict | None = None) -> bool:
    """Compare a learner's function with the reference on each case (a tuple of arguments).
    ``mistakes``: {"what the mistake is": the function that makes it}, tried on a wrong answer."""
    for args in cases:
        got = fn(*args)
        if got is None:
            print(f"⏳ {name}: your function returns None — write it and run the cell again.")
            return False
        want = reference(*args)
        got = torch.as_tensor(got, dtype=torch.float32)
        if got.shape != torch.as_tensor(want).shape:
            return _report(False, f"{name}: shape {tuple(got.shape)}, expected {tuple(torch.as_tensor(want).shape)}")
        if not _close(got, want):
            return _diagnose(name, got, mistakes, args) or _report(False, f"{name}: not quite — {hint}")
    return _report(True, f"{name}: matches on all {len(cases)} test cases.")


def _check_number(name: str, answer, truth: float, tol: float, right: str, hint: str,
                  mistakes: dict | None = None) -> bool:
    """Compare a learner's number with ``truth`` (recomputed by the caller) within ``tol``;
    ``mistakes``: {"what the mistake is": the value it gives}."""
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return _report(False, f"{name}: answer with a number, not {type(answer).__name__}")
    if abs(answer - truth) <= tol:
        return _report(True, f"{name}: {right}")
    return _diagnose(name, answer, mistakes) or _report(False, f"{name}: {answer:g} is off — {hint}")


def _x_eps_ab_cases():
    g = torch.Generator().manual_seed(2)
    ab = schedules.cosine().alpha_bar.float()
    return [(torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g), ab[t], ab[tp])
            for t, tp in ((999, 979), (500, 480), (40, 20))]


# ----------------------------------------------------------------------------- 02 cleaning up

def _sol_02_x0_hat():
    def my_x0_hat(x_t, eps_hat, alpha_bar_t):
        return (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()
    return my_x0_hat


@exercise("02.x0_hat", _sol_02_x0_hat)
def _check_02_x0_hat(fn) -> bool:
    return _check_function("02.x0_hat", fn, _sol_02_x0_hat(), [c[:3] for c in _x_eps_ab_cases()],
                           "undo the shortcut: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, solved for x0")


def _sol_02_ddim_step():
    def my_ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev):
        x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()
        return alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev).sqrt() * eps_hat
    return my_ddim_step


@exercise("02.ddim_step", _sol_02_ddim_step)
def _check_02_ddim_step(fn) -> bool:
    return _check_function("02.ddim_step", fn, _sol_02_ddim_step(), _x_eps_ab_cases(),
                           "first estimate x0_hat, then re-dust it to t_prev with the *same* eps_hat")


# ----------------------------------------------------------------------------- 03 team CNN

def _sol_03_rf():
    def my_receptive_field(n_convs, k=3):
        return 1 + n_convs * (k - 1)
    return my_receptive_field


@exercise("03.receptive_field", _sol_03_rf)
def _check_03_rf(fn) -> bool:
    return _check_function("03.receptive_field", fn, _sol_03_rf(), [(1, 3), (2, 3), (5, 3), (3, 5), (10, 3)],
                           "one k x k conv sees k pixels; each further one adds k - 1")


def _sol_03_cell() -> int:
    return 4  # two stride-2 downsamplings: 32 -> 16 -> 8, so one cell covers 32 / 8 = 4 pixels a side


@exercise("03.cell_size", _sol_03_cell)
def _check_03_cell(answer) -> bool:
    if answer == 4:
        return _report(True, "4 × 4 input pixels sit under each cell of the 8 × 8 level (32 / 8 = 4).")
    if answer == 16:
        return _report(False, "16 is the number of pixels; the question asks for the side of the square")
    return _report(False, "each stride-2 downsampling halves the side: 32 → 16 → 8. How many pixels per cell side?")


# ----------------------------------------------------------------------------- 04 team transformers

def _sol_04_tokens():
    def my_tokens(image_size, patch):
        return (image_size // patch) ** 2  # a (size/p) x (size/p) grid of puzzle pieces
    return my_tokens


@exercise("04.tokens", _sol_04_tokens)
def _check_04_tokens(fn) -> bool:
    return _check_function("04.tokens", fn, _sol_04_tokens(), [(32, 2), (32, 4), (32, 8), (64, 4), (16, 1)],
                           "the pieces form a square grid with image_size / patch pieces a side")


def _sol_04_attention():
    def my_attention(q, k):
        d = q.shape[-1]
        return torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1)
    return my_attention


def _qk_cases():
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 4, n, d, generator=g), torch.randn(2, 4, n, d, generator=g)) for n, d in ((16, 8), (9, 32))]


@exercise("04.attention", _sol_04_attention)
def _check_04_attention(fn) -> bool:
    return _check_function("04.attention", fn, _sol_04_attention(), _qk_cases(),
                           "scores q k^T divided by sqrt(d), then a softmax over the keys (the last axis)")


# ----------------------------------------------------------------------------- 05 the challenge

def _sol_05_patch_cost() -> int:
    return 16  # patch 1 has 4x the tokens of patch 2, and attention compares every pair: 4^2 = 16


@exercise("05.patch_cost", _sol_05_patch_cost)
def _check_05_patch_cost(answer) -> bool:
    if answer == 16:
        return _report(True, "16×: halving the patch side gives 4× the tokens, and attention compares every "
                             "pair of tokens, so 4² = 16× the entries in every attention map.")
    if answer == 4:
        return _report(False, "4× is the number of tokens; attention compares every token with every other")
    return _report(False, "count the tokens for patch 2 and patch 1 (32×32 image), then the pairs of tokens")
