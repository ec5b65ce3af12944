"""diffusion_course: the package behind "From Dust to Detail", a notebook course on diffusion models.

The public API, re-exported:
    scenes            our procedural night-sky pictures, with labels and captions
    schedules         noise schedules: linear, cosine; q(x_t | x_0)
    models            Team CNN (UNet), Team Transformers (DiT); build(config)
    sample, sample_steps, StepRecord   DDPM / DDIM sampling as generators
    train, Trainer    training with EMA, Min-SNR weighting, resumable checkpoints
    load_pretrained   shipped weights from data/
    metrics           the scene judge and sample-quality metrics
    trace             annotated sampling: taps, Trace, annotate
    bench             benchmarks, and the cached results notebook 05 reads
"""
from . import bench, config, exercises, metrics, plotting, scenes, schedules, trace
from .checkpoints import CheckpointError, load_model, load_pretrained, save_model
from .config import DiTConfig, TrainConfig, UNetConfig
from .models import DiT, UNet, build
from .samplers import StepRecord, denoise, sample, sample_steps
from .training import Trainer, train

__all__ = [
    "bench", "config", "exercises", "metrics", "plotting", "scenes", "schedules", "trace",
    "CheckpointError", "load_model", "load_pretrained", "save_model",
    "DiTConfig", "TrainConfig", "UNetConfig", "DiT", "UNet", "build",
    "StepRecord", "denoise", "sample", "sample_steps",
    "Trainer", "train",
]
