"""The course itself: which notebooks exist, read from the notebooks' own first cells.

Notebook 00's roadmap is made here, so it lists exactly the notebooks in ``notebooks/``, with the
title and tagline each one opens with and the exercises it checks: nothing typed in advance.

    >>> from diffusion_course import course
    >>> course.roadmap()   # a Markdown table, one row per notebook
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"  # the course's folder, next to the package
_EXERCISE = re.compile(r"""exercises\.check\(\s*["'](\d\d\.[\w.]+)["']""")


@dataclass(frozen=True)
class Notebook:
    """One notebook as its first cell introduces it."""

    number: str  # "02"
    title: str  # "Cleaning up the dust", from the "# 02 · ..." heading
    tagline: str  # the first sentence of the line under the heading, without its emphasis
    exercises: tuple[str, ...]  # the exercise names its cells check, in order
    path: Path


def read(path: str | Path) -> Notebook:
    """The number, title, tagline and exercises of one notebook file."""
    path = Path(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = [line.strip() for line in "".join(cells[0]["source"]).splitlines() if line.strip()]
    heading = lines[0].lstrip("# ").split("·", 1)
    number = path.name[:2]
    title = heading[-1].strip()
    tagline = lines[1].strip("*_ ") if len(lines) > 1 else ""
    tagline = re.split(r"(?<=[.!?])\s", tagline, maxsplit=1)[0]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return Notebook(number, title, tagline, tuple(dict.fromkeys(_EXERCISE.findall(code))), path)


def notebooks(folder: str | Path = NOTEBOOKS) -> list[Notebook]:
    """Every course notebook in ``folder`` (files named ``NN_*.ipynb``), in order."""
    paths = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no course notebooks (NN_*.ipynb) in {Path(folder).resolve()}; "
                                "pass the folder that holds them")
    return [read(p) for p in paths]


def roadmap(folder: str | Path = NOTEBOOKS) -> str:
    """A Markdown table of the notebooks that exist: number, title, tagline, number of exercises."""
    rows = ["| notebook | the story | exercises |", "|---|---|---|"]
    for nb in notebooks(folder):
        rows.append(f"| **{nb.number} · {nb.title}** | *{nb.tagline}* | {len(nb.exercises)} |")
    return "\n".join(rows)
