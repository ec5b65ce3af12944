"""diffusion_course: the package behind "From Dust to Detail", a notebook course on diffusion models.

The public API, re-exported:
    scenes            our procedural night-sky pictures, with labels and captions
    images            pixels: uint8 <-> [-1, 1], grids, PNGs
    schedules         noise schedules: linear, cosine; q(x_t | x_0)
    models            Team CNN (UNet), Team Transformers (DiT); build(config)
    sample, sample_steps, StepRecord   DDPM / DDIM sampling as generators
    train, Trainer    training with EMA, Min-SNR weighting, resumable checkpoints
    load_pretrained   shipped weights from data/
    metrics           sample-quality metrics read off the scene judge
    judging           how the scene judge is trained
    trace             annotated sampling: taps, Trace, annotate
    bench, report     benchmarks (measuring; the cached results notebook 05 reads) and RESULTS.md (reporting)
"""
from . import bench, config, exercises, images, judging, metrics, plotting, report, scenes, schedules, trace
from .checkpoints import CheckpointError, load_model, load_pretrained, save_model
from .config import DiTConfig, TrainConfig, UNetConfig
from .models import DiT, UNet, build
from .samplers import StepRecord, denoise, sample, sample_steps
from .training import Trainer, train

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
    "config",
    "denoise",
    "exercises",
    "images",
    "judging",
    "load_model",
    "load_pretrained",
    "metrics",
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
