"""diffusion_course: the package behind "From Dust to Detail", a notebook course on diffusion models.

Its folders are the rooms of ``docs/ARCHITECTURE.md``: ``scenes/`` (the pictures), ``words/`` (the tiny CLIP and
the prompts it makes), ``models/`` (the networks), ``diffusion/`` (sampling, guidance, training, checkpoints),
``judging/`` (the scene judge and the metrics read off it), ``looking/`` (recording a run and showing it),
``sketchbook/`` (latent diffusion), ``lessons/`` (each notebook's experiment), ``bench/``, ``cli/``, ``exercises/``.

The public API, re-exported here:
    scenes            our procedural night-sky pictures, with labels and captions
    images            pixels: uint8 <-> [-1, 1], grids, PNGs
    schedules         noise schedules: linear, cosine; q(x_t | x_0)
    models            Team CNN (UNet), Team Transformers (DiT); build(config)
    sample, sample_steps, StepRecord   DDPM / DDIM sampling as generators
    train, Trainer    training with EMA, Min-SNR weighting, resumable checkpoints
    load_pretrained   shipped weights from data/
    metrics           sample-quality metrics read off the scene judge
    trace             annotated sampling: annotate -> Trace (``looking.trace``; the taps it records: ``looking.taps``)
    plotting          the notebooks' figures (``looking.plotting``)
    bench, report     benchmarks (measuring; the cached results the notebooks read) and RESULTS.md (reporting)
and, by short names, the modules the notebooks read: ``clip`` (``words.clip``), ``guidance``
(``diffusion.guidance``), ``course`` (``lessons.course``) and ``widgets`` (``looking.widgets``, imported only when
asked for: it is the one module that imports ipywidgets).
"""
from importlib import import_module

from . import bench, config, exercises, images, models, scenes, schedules
from .bench import report
from .config import DiTConfig, TrainConfig, UNetConfig
from .diffusion import guidance
from .diffusion.checkpoints import load_model, load_pretrained, save_model
from .diffusion.samplers import StepRecord, denoise, sample, sample_steps
from .diffusion.training import Trainer, train
from .judging import metrics
from .lessons import course
from .looking import plotting, trace
from .models import DiT, UNet, build
from .shipped import CheckpointError
from .words import clip

_LAZY = {"widgets": ".looking.widgets"}  # display: imported on first use, so recording never pulls in ipywidgets


def __getattr__(name: str):
    if name in _LAZY:
        return import_module(_LAZY[name], __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "DiT",
    "DiTConfig",
    "StepRecord",
    "TrainConfig",
    "Trainer",
    "UNet",
    "UNetConfig",
    "bench",
    "build",
    "clip",
    "config",
    "course",
    "denoise",
    "exercises",
    "guidance",
    "images",
    "load_model",
    "load_pretrained",
    "metrics",
    "models",
    "plotting",
    "report",
    "sample",
    "sample_steps",
    "save_model",
    "scenes",
    "schedules",
    "trace",
    "train",
]
