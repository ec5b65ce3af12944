"""Benchmarks: measuring (``measure``: speed, FLOP utilisation, annotation cost and quality into
``bench/results.json``) and reporting (``report``: the goals and ``bench/RESULTS.md``).
"""
from .measure import FULL, QUICK, TEAMS, Sizes, curve_at, load_results, main, run

__all__ = ["FULL", "QUICK", "TEAMS", "Sizes", "curve_at", "load_results", "main", "run"]
