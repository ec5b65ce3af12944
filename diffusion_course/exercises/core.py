"""The machinery of the exercises: a registry of checkers and solutions, ``check``, ``verify`` and
``solution``, and the comparisons every checker shares (``check_function``, ``check_number``), which
name the typical mistake a wrong answer matches."""
from __future__ import annotations

import inspect
from collections.abc import Callable

import torch

_CHECKERS: dict[str, Callable] = {}
_SOLUTIONS: dict[str, Callable] = {}


def exercise(name: str, solution: Callable):
    """Register a checker under ``name`` with its reference solution."""
    def wrap(fn):
        _CHECKERS[name] = fn
        _SOLUTIONS[name] = solution
        return fn
    return wrap


def report(ok: bool, message: str) -> bool:
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
        return report(False, f"{name}: your answer raised {type(e).__name__}: {e}")


def verify(*names: str) -> bool:
    """Check the reference solution of each exercise (what ``Run all`` does for CI): prints one
    ✅/❌ line per exercise and no solution code. True when all pass."""
    results = [check(name, solution(name, show=False)) for name in names]  # every one, even after a ❌
    return all(results)


def solution(name: str, show: bool = True):
    """The reference solution of exercise ``name`` (printed as source when ``show``)."""
    if name not in _SOLUTIONS:
        raise KeyError(f"no exercise {name!r}; exercises: {', '.join(_SOLUTIONS)}")
    sol = _SOLUTIONS[name]
    if show:
        print(inspect.getsource(sol))
    return sol()



def as_float_tensor(x) -> torch.Tensor:
    """A learner's answer (tensor, number, list) as a detached float32 tensor."""
    return (x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(x)).to(torch.float32)


def close(got, want, atol: float = 1e-4) -> bool:
    got, want = as_float_tensor(got), as_float_tensor(want)
    return got.shape == want.shape and torch.allclose(got, want, atol=atol, rtol=1e-4)


def case_args(case) -> tuple:
    """A test case's arguments: a tuple, or a function that makes a fresh tuple (for arguments
    that are used up, such as a random generator)."""
    return case() if callable(case) else case


def diagnose(name: str, got, mistakes: dict, case=(), atol: float = 1e-4) -> bool:
    """Report a wrong answer that matches a typical mistake, naming it (each ``mistakes`` value is a
    function of the case's arguments or a value): True when one matched and was reported, else False."""
    for what, wrong in (mistakes or {}).items():
        try:
            if close(got, wrong(*case_args(case)) if callable(wrong) else wrong, atol):
                report(False, f"{name}: not quite — it looks like {what}.")
                return True
        except (TypeError, ValueError, RuntimeError, IndexError):
            continue
    return False


def check_function(name: str, fn, reference, cases, hint: str, mistakes: dict | None = None,
                    right: str | None = None) -> bool:
    """Compare a learner's function with the reference on each case (a tuple of arguments, or a
    function returning one: see ``_args``). ``mistakes``: {"what the mistake is": the function that
    makes it}, tried on a wrong answer; the one it matches is named. ``right``: what a pass says
    (default: the number of cases matched)."""
    for case in cases:
        got = fn(*case_args(case))
        if got is None:
            print(f"⏳ {name}: your function returns None — write it and run the cell again.")
            return False
        want, got = as_float_tensor(reference(*case_args(case))), as_float_tensor(got)
        if got.shape != want.shape:
            return report(False, f"{name}: shape {tuple(got.shape)}, expected {tuple(want.shape)}")
        if not close(got, want):
            if not diagnose(name, got, mistakes, case):
                report(False, f"{name}: not quite — {hint}")
            return False
    return report(True, f"{name}: {right or f'matches on all {len(cases)} test cases.'}")


def check_number(name: str, answer, truth: float, tol: float, right: str, hint: str,
                  mistakes: dict | None = None) -> bool:
    """Compare a learner's number with ``truth`` (recomputed by the caller) within ``tol``;
    ``mistakes``: {"what the mistake is": the value it gives}."""
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return report(False, f"{name}: answer with a number, not {type(answer).__name__}")
    if abs(answer - truth) <= tol:
        return report(True, f"{name}: {right}")
    if not diagnose(name, answer, mistakes, atol=max(tol, 1e-4)):
        report(False, f"{name}: {answer:g} is off — {hint}")
    return False


