"""The shipped files: where they live, the error a missing or broken one raises, the machine a card names,
and the refusal to write over one.

The notebooks load small files from ``data/`` (weights, cards, the tiny CLIP's folder, the judge). A learner's
own run goes to ``runs/`` (ignored by git); the commands that write weights refuse to replace a file in ``data/``
unless told ``--force``, so that a one-minute experiment never destroys the model a notebook loads.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from . import precision

DATA_DIR = Path(os.environ.get("DIFFUSION_COURSE_DATA", Path(__file__).resolve().parent.parent / "data"))
RUNS_DIR = Path("runs")  # a run of your own, by default (relative to where the command runs; ignored by git)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


def machine() -> str:
    """A short description of this machine for cards and benchmark results."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    units = precision.vector_units()
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu}{f' ({units})' if units else ''}, {os.cpu_count()} cores{gpu}, torch {torch.__version__}"


def refuse_to_replace(out: str | Path, written, force: bool = False) -> None:
    """Stop a command before it trains if it would write over a shipped file: a ``ValueError`` (one line on the
    command line) naming the first of ``written`` (the files and folders a run to ``--out out`` writes) that already
    exists in ``DATA_DIR``, unless ``force``. A new name in ``data/`` is allowed (that is how a new model is
    shipped), and so is anything outside it: a run of your own resumes as before."""
    if force:
        return
    data = DATA_DIR.resolve()
    for path in map(Path, written):
        if path.exists() and path.resolve().is_relative_to(data):
            raise ValueError(f"{path} is shipped with the course (the notebooks load it): write your run elsewhere "
                             f"(--out {RUNS_DIR / Path(out).name}, say) or pass --force to replace it")
