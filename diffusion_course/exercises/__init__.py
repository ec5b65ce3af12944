"""Checkers for the notebooks' exercises, one module per part of the course (``basics``: 00-01,
``denoising``: 02, ``teams``: 03-05, ``collapse``: 06, ``words``: 07,
``guidance``: 08, ``sketchbook``: 09, ``showing``: 10) over the shared machinery in ``core``.

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
from . import basics, collapse, denoising, guidance, showing, sketchbook, teams, words  # noqa: F401  (importing them registers their exercises)
from .core import check, exercise, solution, verify

__all__ = ["check", "exercise", "solution", "verify"]
