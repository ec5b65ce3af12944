"""The eye-calibration set: drawings labelled *clean* or *not clean* by a person looking at them, so
that the judge's "recognisable" can be checked against an eye instead of against itself.

Five sets of 64 drawings (``SETS``): Team CNN of scene world 1 (shipped as unet-scenes until its world-2
retrain took the name), the shipped Team Transformers, an undertrained Team Transformers (notebook 05's live DiT
recipe after ``UNDERTRAINED_STEPS`` steps, whose patch mosaics the first judge flattered), Team Transformers in
the latent sketchbook, and the shipped Team CNN of world 2. Each set keeps the drawings that were labelled, so a
set is named after the model that drew it. ``make``
draws them (deterministic for its seed; a latent model's through the ``draw`` it is given); a person
labels each grid by eye; the images and labels live in ``data/eye-calibration.safetensors``
with a note on how they were made in ``data/eye-calibration.json``. ``agreement`` compares the judge
with the labels per set. The first half of each set (``TUNING``) may be used to tune the judge's
thresholds; the second half is held back and only ever reported.

    python -m diffusion_course calibrate --out /tmp/eye     # draws the sets and their grids
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .. import scenes
from ..config import TrainConfig
from ..diffusion.checkpoints import load_pretrained
from ..diffusion.samplers import sample_many
from ..diffusion.training import Trainer
from ..images import dequantize, quantize, save_grid
from ..shipped import DATA_DIR
from . import metrics

PER_SET = 64
SETS = ("unet-scenes-w1", "dit-scenes", "undertrained dit-small", "latent-dit", "unet-scenes")
UNDERTRAINED_STEPS = 800  # notebook 05's equal-FLOPs DiT: 4x4 mosaics on dark skies
SAMPLING = {"steps": 50, "eta": 1.0}
TUNING = slice(0, PER_SET // 2)  # per set: may tune thresholds; the rest is held back
PATH = DATA_DIR / "eye-calibration.safetensors"


def make(seed: int = 1234, progress: bool = True, names: tuple[str, ...] = SETS,
         draw: Callable[..., torch.Tensor] = sample_many) -> dict[str, torch.Tensor]:
    """Draw the sets ``names`` (name -> (64, 3, 32, 32) in [-1, 1]), DDIM-50, eta 1, seed ``seed``, each shipped
    model with ``draw(model, n, seed=, steps=, eta=)`` (a latent one needs a draw that paints its latents,
    ``latent.draw``)."""
    unknown = [n for n in names if n not in SETS]
    if unknown:
        raise ValueError(f"unknown eye-calibration sets {unknown}; the sets are {', '.join(SETS)}")
    out = {}
    for name in names:
        if name == SETS[2]:
            pool = scenes.ScenePool(2048, seed=0, progress=progress)
            recipe = TrainConfig(steps=1_000_000, batch_size=32, lr=1e-3, warmup=40, seed=0)  # notebook 05's DiT
            model = Trainer("dit-small", recipe, pool=pool, progress=progress).run(steps=UNDERTRAINED_STEPS).ema
        else:
            model = load_pretrained(name)
        out[name] = draw(model, PER_SET, seed=seed, **SAMPLING)
    return out


def save(images: dict[str, torch.Tensor], clean: dict[str, list[int]], path: Path = PATH) -> Path:
    """Store the sets' images (uint8) and eye labels (1 clean, 0 not clean) in one safetensors file, set ``SETS[i]``
    under ``set{i}``."""
    tensors = {}
    for name in images:
        i = SETS.index(name)
        tensors[f"set{i}.images"] = quantize(images[name]).contiguous()
        tensors[f"set{i}.clean"] = torch.tensor(clean[name], dtype=torch.uint8)
    save_file(tensors, path, metadata={"sets": ",".join(images)})
    return path


def load(path: Path = PATH) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """name -> (images (64, 3, 32, 32) in [-1, 1], eye labels bool (64,))."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no eye-calibration set at {path}; it ships in data/ with the course")
    t = load_file(path)
    return {name: (dequantize(t[f"set{i}.images"]), t[f"set{i}.clean"].bool()) for i, name in enumerate(SETS)}


def agreement(judge, sets: dict | None = None) -> dict[str, dict]:
    """Per set: the share the eye calls clean, the share the judge calls recognisable, their gap in
    percentage points, and the share of drawings on which the two agree; for all 64, and for the
    held-back half alone."""
    sets = sets if sets is not None else load()
    out = {}
    for name, (x, eye) in sets.items():
        judged = metrics.recognisable(judge, x)
        row = {}
        for part, sl in (("all", slice(None)), ("held_back", slice(TUNING.stop, None))):
            e, j = eye[sl].float(), judged[sl].float()
            row[part] = {"eye_clean": e.mean().item(), "judge_recognisable": j.mean().item(),
                         "gap_points": 100 * (j.mean() - e.mean()).item(), "agree": (e == j).float().mean().item()}
        out[name] = row
    return out


def write_grids(images: dict[str, torch.Tensor], out: Path) -> list[Path]:
    """One numbered-by-position grid per set drawn (8 x 8, row-major: cell k is drawing k) to label by eye,
    ``eye-{i}.png`` for set ``SETS[i]``."""
    out.mkdir(parents=True, exist_ok=True)
    return [save_grid(images[name], out / f"eye-{SETS.index(name)}.png", nrow=8, scale=6) for name in images]
