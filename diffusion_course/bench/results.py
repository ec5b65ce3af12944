"""Benchmarks, the driver: every section measured (or one re-measured, ``bench --only NAME``), checked against
the goals, and written to ``bench/results.json`` with ``RESULTS.md`` beside it; ``load_results`` reads it back
(what the notebooks read).

    python -m diffusion_course bench [--quick] [--only NAME]

How much each section does is in ``sizes`` (``FULL``, the shipped results; ``QUICK``, ``--quick``); the goals
live in one table, ``goals.GOALS``, which both the checks and the report read.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .. import shipped
from ..diffusion import checkpoints
from ..models import build
from . import report
from .goals import check_goals
from .lessons import (
    bench_budgets,
    bench_collapse,
    bench_drawing,
    bench_levers,
    bench_live,
    bench_showing,
    bench_sketchbook,
    bench_stepping,
)
from .quality import bench_head_to_head, bench_quality
from .sizes import FULL, QUICK
from .speed import bench_annotation, bench_sampling, bench_training, matmul_peak
from .words import bench_clip, bench_words

# sections that ``bench --only NAME`` can re-measure into an existing results file
SECTIONS = {"quality": bench_quality, "clip": bench_clip, "words": bench_words, "showing": bench_showing,
            "sketchbook": bench_sketchbook, "stepping": bench_stepping, "drawing": bench_drawing,
            "collapse": bench_collapse, "budgets": bench_budgets, "levers": bench_levers,
            "head_to_head": bench_head_to_head, "live": bench_live}


def run(quick: bool = False) -> dict:
    """Every section measured (at ``QUICK`` or ``FULL`` sizes), speeds as fractions of the matmul peak measured
    first, the head-to-head from the teams' training steps, and the goals checked."""
    sizes = QUICK if quick else FULL
    torch.manual_seed(0)
    peak32 = matmul_peak(torch.float32, sizes.matmul, reps=5)
    peak16 = matmul_peak(torch.bfloat16, sizes.matmul, reps=5)
    try:
        model, source = checkpoints.load_pretrained("unet-scenes", "cpu"), "data/unet-scenes.safetensors"
    except shipped.CheckpointError:
        model, source = build("unet-scenes"), "untrained (no data/unet-scenes.safetensors)"
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": shipped.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "quick": quick,
        "matmul_peak_gflops": {"fp32": peak32, "bf16": peak16},
        "training": [bench_training("unet-scenes", sizes.train_batch, sizes.train_reps, p) for p in ("fp32", "bf16")],
        "sampling": {"model": source, **bench_sampling(model, sizes.images, sizes.steps, sizes.reps)},
        "annotation": bench_annotation(model, sizes.images, sizes.steps, sizes.reps),
        "quality": bench_quality(sizes),
        "clip": bench_clip(sizes),
        "words": bench_words(sizes),
        "showing": bench_showing(sizes),
        "sketchbook": bench_sketchbook(sizes),
        "stepping": bench_stepping(sizes),
        "drawing": bench_drawing(sizes),
        "collapse": bench_collapse(sizes),
        "budgets": bench_budgets(sizes),
        "levers": bench_levers(sizes),
        "live": bench_live(sizes),
    }
    results["head_to_head"] = bench_head_to_head(sizes)
    for tr in results["training"]:
        peak = peak16 if tr["precision"] != "fp32" else peak32
        tr["fraction_of_peak"] = tr["gflops"] / peak
    results["sampling"]["fraction_of_fp32_peak"] = results["sampling"]["gflops"] / peak32
    return check_goals(results)


def save_budget_plot(b: dict, path: Path) -> None:
    """The time-to-quality figure (``plotting.time_to_quality``) as a PNG beside RESULTS.md."""
    import matplotlib.pyplot as plt

    from ..looking.plotting import time_to_quality
    ax = time_to_quality(b)
    ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(ax.figure)


RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.json"


def load_results(path: str | Path = RESULTS) -> dict:
    """The cached results of the last full ``bench`` run (what notebook 05 reads)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results at {path}; make them with: python -m diffusion_course bench")
    return json.loads(path.read_text())


def main(quick: bool = False, out: Path = Path("bench"), only: str | None = None) -> dict:
    """Measure everything (or re-measure one section, ``only``, into the results already in ``out``) and
    write results.json and RESULTS.md."""
    out = Path(out)
    if only is None:
        results = run(quick)
    else:
        if only not in SECTIONS:
            raise ValueError(f"bench --only takes one of {', '.join(SECTIONS)}, got {only!r}")
        results = load_results(out / "results.json")
        if results["quick"] != quick:
            held = "quick" if results["quick"] else "full"
            raise ValueError(f"{out / 'results.json'} holds {held} results: re-measure a section at the same size "
                             f"({'with' if results['quick'] else 'without'} --quick)")
        results[only] = SECTIONS[only](QUICK if quick else FULL)
        results[only]["date"] = time.strftime("%Y-%m-%d %H:%M")
        results[only]["machine"] = shipped.machine()  # (it may not be the machine the other sections ran on)
        results = check_goals(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    page = report.markdown(results)
    (out / "RESULTS.md").write_text(page)
    if only in (None, "budgets") and "skipped" not in results.get("budgets", {"skipped": ""}):
        save_budget_plot(results["budgets"], out / "budgets.png")
    print(page)
    return results
