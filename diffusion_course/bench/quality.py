"""The benchmark's quality sections: the unconditional denoisers judged (``bench_quality``: recognisable, Fréchet
distance, diversity, memorisation, and the judge against the eye), and the head-to-head (notebook 05), Team CNN
and Team Transformers side by side: size, FLOPs, speed, quality, and quality at an equal training budget, in CPU
minutes (steps x the step time measured here) and in training FLOPs, read off the quality curves in the cards.
"""
from __future__ import annotations

import itertools
import time

from .. import scenes, shipped
from ..config import TRAIN_PRESETS
from ..diffusion import checkpoints
from ..judging import calibration, metrics
from ..models import build
from ..sketchbook import latent
from .sizes import FULL, TEAMS, Sizes
from .speed import bench_sampling, bench_training


def bench_quality(sizes: Sizes = FULL) -> dict:
    """Sample-quality metrics of the shipped unconditional denoisers ``sizes.quality_models``
    (``sizes.quality_images`` drawings each, DDIM with ``sizes.quality_steps``), and of an untrained one as the
    floor."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    pools = {}  # scene world -> the denoisers' training pool (it starts with these scenes of seed 0)
    models = {"untrained unet-scenes": (build("unet-scenes").eval(), scenes.WORLD)}
    for name in sizes.quality_models:  # (one not shipped in this checkout is left out of the table)
        if (shipped.DATA_DIR / f"{name}.safetensors").exists():
            models[name] = (checkpoints.load_pretrained(name, "cpu"), checkpoints.card(name).get("scene_world", 1))
    out = {}
    for name, (model, world) in models.items():
        if world not in pools:
            pools[world] = scenes.batch(sizes.train_pool, seed=0, world=world)[0]
        t0 = time.perf_counter()
        x = latent.draw(model, sizes.quality_images, steps=sizes.quality_steps, seed=0)
        out[name] = {"sampling_seconds": time.perf_counter() - t0, "scene_world": world, "steps": sizes.quality_steps,
                     **metrics.evaluate(judge, x, pools[world])}
    try:
        out["eye_calibration"] = calibration.agreement(judge)
    except FileNotFoundError as e:
        out["eye_calibration"] = {"skipped": str(e)}
    return out


def curve_at(curve: list[dict], step: float, key: str, max_gap: int = 1000):
    """``key`` of a quality curve at ``step``, interpolated between the two probes around it
    (None outside the curve, or where the probes around it are more than ``max_gap`` steps apart)."""
    for p in curve:
        if p["step"] == step:
            return p[key]
    for a, b in itertools.pairwise(curve):
        if a["step"] < step < b["step"]:
            if b["step"] - a["step"] > max_gap:
                return None
            w = (step - a["step"]) / (b["step"] - a["step"])
            return (1 - w) * a[key] + w * b[key]
    return None


def bench_head_to_head(sizes: Sizes = FULL) -> dict:
    """The head-to-head (notebook 05, ``bench --only head_to_head``): each team's training step measured on its own
    recipe, then ``bench_teams``."""
    training = {name: bench_training(name, sizes.team_batch or TRAIN_PRESETS[name].batch_size, sizes.team_reps,
                                     "auto") for name in TEAMS}
    return bench_teams(training, sizes)


def bench_teams(training: dict[str, dict], sizes: Sizes = FULL) -> dict:
    """Team CNN vs Team Transformers (``TEAMS``): each shipped denoiser's size, cost, speed and quality curve, then
    both at equal budgets. ``training`` holds each preset's measured train step."""
    teams = {}
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
        probe = metrics.probe(judge, n=sizes.probe_images, steps=sizes.steps,
                              draw=lambda model, n, steps, seed: latent.draw(model, n, steps=steps, seed=seed))
    except shipped.CheckpointError as e:
        return {"teams": {name: {"team": team, "skipped": str(e)} for name, team in TEAMS.items()}, "equal_budget": []}
    for name, team in TEAMS.items():
        try:
            model, card = checkpoints.load_pretrained(name, "cpu"), checkpoints.card(name)
        except shipped.CheckpointError as e:
            teams[name] = {"team": team, "skipped": str(e)}
            continue
        s = bench_sampling(model, sizes.team_images, sizes.steps, sizes.reps)
        tr = training[name]
        # the card's probes were read by the judge of their day (v1 before the card says otherwise); the
        # final model is read here by today's judge. Each point says which judge read it.
        final = {"step": card["steps"], **probe(model), "judge": judge.config.version}
        then = card.get("curve_judge_version") or 1
        curve = [p | {"judge": then} for p in card.get("curve", []) if p["step"] < card["steps"]] + [final]
        teams[name] = {"team": team, "parameters": model.num_params(),
                       "gflop_per_forward": s["gflop_per_forward"] / s["images"],  # one image
                       "seconds_per_image": s["seconds"] / s["images"], "train_steps": card["steps"],
                       "train_batch": tr["batch"], "train_seconds_per_step": tr["seconds_per_step"],
                       "train_gflop_per_step": tr["gflop_per_step"],
                       "train_cpu_minutes": card["steps"] * tr["seconds_per_step"] / 60,
                       "train_pflop": card["steps"] * tr["gflop_per_step"] / 1e6, "curve": curve}
    ready = {k: v for k, v in teams.items() if "skipped" not in v}
    if len(ready) < 2:
        return {"teams": teams, "equal_budget": []}
    budgets = [("10 CPU minutes", "minutes", 10.0)]
    for t in ready.values():  # each team's full training, in both currencies
        budgets += [(f"full training of {t['team']} ({t['train_cpu_minutes']:.0f} CPU min)", "minutes",
                     t["train_cpu_minutes"]),
                    (f"full training of {t['team']} ({t['train_pflop']:.2f} PFLOP)", "pflop", t["train_pflop"])]
    rows = []
    for label, unit, amount in budgets:
        row = {"budget": label, "unit": unit, "amount": amount}
        for name, t in ready.items():
            per_step = t["train_seconds_per_step"] / 60 if unit == "minutes" else t["train_gflop_per_step"] / 1e6
            step = amount / per_step
            done = step >= t["train_steps"] - 0.5  # the budget outlasts this team's training: its final model
            at = t["train_steps"] if done else step
            row[name] = {"step": round(at), "finished_early": done and step > t["train_steps"] * 1.01,
                         "judge": curve_at(t["curve"], at, "judge"),  # a fraction where two judges' points meet
                         "recognisable_rate": curve_at(t["curve"], at, "recognisable_rate"),
                         "frechet_distance": curve_at(t["curve"], at, "frechet_distance")}
        rows.append(row)
    return {"teams": teams, "equal_budget": rows, "probe_images": sizes.probe_images, "judge": judge.config.version}
