"""Benchmarks: speed, FLOP utilisation, annotation cost and sample quality measured into ``bench/results.json``,
and ``bench/RESULTS.md`` written from it.

    python -m diffusion_course bench [--quick] [--only NAME]

Measuring: ``sizes`` (how much each measurement does: ``FULL``, ``QUICK``), ``speed`` (matmul peak, training,
sampling, annotation, guidance's cost), ``quality`` (the unconditional denoisers judged; Team CNN vs Team Transformers),
``words`` (the tiny CLIP; drawing from words), ``lessons`` (the sections the lessons' modules measure), and
``results`` (all of them run, checked, written and read back). Reporting: ``goals`` (the one table of goals),
``report`` (the page), ``report_words`` and ``report_lessons`` (its sections).
"""
from .quality import curve_at
from .results import RESULTS, SECTIONS, load_results, main, run
from .sizes import FULL, QUICK, TEAMS, Sizes

__all__ = ["FULL", "QUICK", "RESULTS", "SECTIONS", "TEAMS", "Sizes", "curve_at", "load_results", "main", "run"]
