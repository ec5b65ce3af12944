"""Notebook 09's measurements: the latent sketchbook against pixel diffusion (``bench --only sketchbook``).

- each shipped autoencoder on held-out scenes: the judge's recognisable rate of its reconstructions, against
  the real scenes and a no-learning baseline of about as many numbers (``autoencoding.validate``);
- the cost of one denoising step, latent vs pixel, in FLOPs (``torch.utils.flop_counter``), for the shipped
  latent model and for a latent U-Net of the same shape on each autoencoder's grid;
- sampling 16 pictures, decoding included, latent vs pixel, timed alternately in one run;
- quality: the judge's recognisable rate of both models' samples (DDIM-50, eta 1, same seed);
- training to 90 % recognisable: the step where each model's probe curve first reaches 90 %, times its
  training step's time measured here, in the same run; and, since a curve may never get there, the
  recognisable rate of both at equal training time (the longest both curves cover). The latent model's
  curve is in its card; the pixel side's is unet-scenes' own when it learned the same scene world, else the
  pixel recipe re-run on that world, kept in the latent model's card (``pixel_curve``, made while the shipped
  unet-scenes still learned world 1). The autoencoder is trained once, before any latent model: its time is
  reported beside, not hidden.
"""
from __future__ import annotations

import dataclasses

import torch

from .. import scenes, shipped
from ..config import AUTOENCODER_PRESETS, PRESETS, TRAIN_PRESETS, AutoencoderTrainConfig, TrainConfig
from ..diffusion import checkpoints
from ..diffusion.cost import alternate, count_flops, fastest, forward_flops
from ..diffusion.samplers import sample, sample_many
from ..diffusion.training import Trainer
from ..judging import metrics
from ..models import build
from ..pools import LatentPool
from ..sketchbook import autoencoding, latent

PIXEL, LATENT = "unet-scenes", "latent-unet"
TARGET = 0.9  # the recognisable rate whose training time is compared


def decoder_flops(ae) -> int:
    """FLOPs of painting one latent."""
    with torch.no_grad():
        return count_flops(lambda: ae.decode(torch.zeros(1, *ae.latent_shape)))


def first_reaching(curve: list[dict], target: float = TARGET) -> float | None:
    """The training step where a probe curve first reaches ``target`` recognisable, interpolated linearly
    between the probes around it (None if it never does)."""
    before = {"step": 0, "recognisable_rate": 0.0}
    for p in curve:
        if p["recognisable_rate"] >= target:
            a, b = before["recognisable_rate"], p["recognisable_rate"]
            w = (target - a) / (b - a) if b > a else 1.0
            return before["step"] + w * (p["step"] - before["step"])
        before = p
    return None


def rate_at(points: list[tuple[float, float]], x: float | None) -> float | None:
    """The rate of a curve [(seconds, rate), ...] at ``x`` seconds, interpolated linearly from (0, 0)."""
    if x is None:
        return None
    before = (0.0, 0.0)
    for p in points:
        if p[0] >= x:
            w = (x - before[0]) / (p[0] - before[0]) if p[0] > before[0] else 1.0
            return before[1] + w * (p[1] - before[1])
        before = p
    return None


def step_seconds(preset: str, batch: int, reps: int, pool) -> float:
    """The fastest of ``reps`` training steps of ``preset`` at ``batch`` (its recipe's precision)."""
    cfg = dataclasses.replace(TRAIN_PRESETS.get(preset, TrainConfig()), batch_size=batch)
    return fastest(Trainer(preset, cfg, pool=pool, progress=False, device="cpu").train_step, reps)


def measure(judge, images: int = 256, timed_images: int = 16, steps: int = 50, reps: int = 3,
            held_out: int = 512) -> dict:
    """Everything notebook 09's table shows; see the module docstring."""
    out: dict = {"autoencoders": {}}
    pool = scenes.ScenePool(512, seed=0)
    for name in AUTOENCODER_PRESETS:
        if (shipped.DATA_DIR / f"{name}.safetensors").exists():
            ae = checkpoints.load_pretrained(name, "cpu")
            card = checkpoints.card(name)
            shaped = dataclasses.replace(PRESETS[LATENT], image_size=ae.config.latent_size,
                                         in_channels=ae.config.latent_channels, autoencoder=name)
            recipe = AutoencoderTrainConfig(**card["train_config"])  # (its precision "auto" decides here too)
            trainer = autoencoding.AutoencoderTrainer(ae.config, recipe, device="cpu", pool=pool, progress=False)
            out["autoencoders"][name] = {
                "latent_shape": list(ae.latent_shape), "parameters": ae.num_params(), "steps": card["steps"],
                "train_seconds_per_step": (per_step := fastest(trainer.train_step, reps)),
                "train_cpu_minutes": card["steps"] * per_step / 60,  # its steps x a step timed here
                "train_seconds_card": card["train_seconds"], "train_machine": card["machine"],
                "decoder_mflop": decoder_flops(ae) / 1e6,
                "latent_unet_mflop_per_step": forward_flops(build(shaped)) / 1e6,
                **autoencoding.validate(ae, judge, held_out)}
    if not out["autoencoders"]:
        return {"skipped": "no autoencoder in data/ (python -m diffusion_course autoencoder)"}
    try:
        pixel, book = checkpoints.load_pretrained(PIXEL, "cpu"), latent.load(LATENT, "cpu")
    except shipped.CheckpointError as e:
        return out | {"skipped": str(e)}
    cards = {PIXEL: checkpoints.card(PIXEL), LATENT: checkpoints.card(LATENT)}
    out["autoencoder"] = book.denoiser.config.autoencoder
    # the cost of a step, and of 16 pictures (decoding included), timed alternately (reps + 1 rounds: the first
    # warms up, and counts)
    out["mflop_per_step"] = {PIXEL: forward_flops(pixel) / 1e6, LATENT: forward_flops(book.denoiser) / 1e6}
    out["parameters"] = {PIXEL: pixel.num_params(), LATENT: book.denoiser.num_params()}
    best = alternate({PIXEL: lambda: sample(pixel, timed_images, steps=steps, seed=0),
                      LATENT: lambda: book.sample(timed_images, steps=steps, seed=0)}, reps + 1)
    out["sampling_seconds"] = best
    out["sampling"] = {"images": timed_images, "steps": steps, "ratio_latent_to_pixel": best[LATENT] / best[PIXEL]}
    # quality, same seed
    x = {PIXEL: sample_many(pixel, images, steps=steps, seed=0), LATENT: book.sample(images, steps, seed=0)}
    out["recognisable"] = {name: metrics.recognisable_rate(judge, v) for name, v in x.items()}
    out["recognisable_real"] = metrics.recognisable_rate(judge, metrics.reference_scenes(images)[0])
    out["images"] = images
    out["scene_world"] = {n: cards[n].get("scene_world", 1) for n in cards}  # what each model learned
    out["recognisable_gap_points"] = 100 * (out["recognisable"][PIXEL] - out["recognisable"][LATENT])
    # training to 90 %: each card's probe curve, times a training step timed here
    step = {PIXEL: step_seconds(PIXEL, TRAIN_PRESETS[PIXEL].batch_size, reps, pool),
            LATENT: step_seconds(LATENT, TRAIN_PRESETS[LATENT].batch_size, reps, LatentPool(pool, book.ae))}
    own = {"curve": cards[PIXEL].get("curve", []), "scene_world": cards[PIXEL].get("scene_world", 1)}
    same_world = own["scene_world"] == cards[LATENT]["scene_world"]
    pixel_curve = own if same_world or "pixel_curve" not in cards[LATENT] else cards[LATENT]["pixel_curve"]
    curves = {PIXEL: pixel_curve["curve"], LATENT: cards[LATENT].get("curve", [])}
    out["curve_scene_world"] = {PIXEL: pixel_curve["scene_world"], LATENT: cards[LATENT]["scene_world"]}
    reach = {name: first_reaching(curves[name]) for name in step}
    out["curve_steps"] = {n: curves[n][-1]["step"] if curves[n] else 0 for n in step}
    out["train_seconds_per_step"] = step
    out["steps_to_target"] = reach
    out["seconds_to_target"] = {n: (reach[n] * step[n] if reach[n] is not None else None) for n in step}
    out["target"] = TARGET
    both = all(v is not None for v in out["seconds_to_target"].values())
    out["time_to_target_ratio_latent_to_pixel"] = (out["seconds_to_target"][LATENT] / out["seconds_to_target"][PIXEL]
                                                   if both else None)
    # where a curve never reaches the target, compare at equal training time: the longest both curves cover
    timed = {n: [(p["step"] * step[n], p["recognisable_rate"]) for p in curves[n]] for n in step}
    horizon = min(points[-1][0] for points in timed.values()) if all(timed.values()) else None
    out["equal_time"] = {"seconds": horizon, **{n: rate_at(timed[n], horizon) for n in step}}
    out["equal_time_gap_points"] = (100 * (out["equal_time"][LATENT] - out["equal_time"][PIXEL])
                                    if horizon is not None else None)
    out["flop_ratio_latent_to_pixel"] = out["mflop_per_step"][LATENT] / out["mflop_per_step"][PIXEL]
    out["autoencoder_recognisable"] = out["autoencoders"][out["autoencoder"]]["recognisable_reconstructed"]
    return out
