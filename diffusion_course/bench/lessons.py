"""The benchmark's sections measured by the lessons' own modules (``lessons/``), one per notebook experiment:
showing its work (10), the latent sketchbook (09), fewer steps (02), drawing the scene pool, everyone draws the
same (06), time to quality, and the learners' live runs (02, 05); each reads the shipped judge, or says why it was
skipped.
"""
from __future__ import annotations

import os
import tempfile
import time
from unittest import mock

from .. import exercises, scenes, shipped
from ..config import TRAIN_PRESETS
from ..diffusion import checkpoints
from ..lessons import budgets, challenge, collapse, levers, live, showing, sketching, stepping
from .sizes import FULL, Sizes


def bench_showing(sizes: Sizes = FULL) -> dict:
    """Showing its work (notebook 10): commitment and fork disagreement per team, annotation cost
    (``showing.measure``)."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    return showing.measure(judge, sizes.showing_images, sizes.steps, sizes.fork_images, continuations=sizes.forks,
                           cost_n=sizes.images)


def bench_sketchbook(sizes: Sizes = FULL) -> dict:
    """The latent sketchbook (notebook 09): autoencoders, and latent vs pixel diffusion (``sketching.measure``)."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    return sketching.measure(judge, sizes.quality_images, sizes.images, sizes.steps, sizes.reps,
                             held_out=sizes.held_out_images)


def bench_stepping(sizes: Sizes = FULL) -> dict:
    """Fewer steps (notebook 02): recognisable rate against steps per sampler, DPM-Solver++ against DDIM-50,
    bf16 inference (``stepping.measure``)."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    return stepping.measure(judge, n=sizes.stepping_images, steps=sizes.stepping_steps, timed_images=sizes.images,
                            reps=sizes.reps)


def bench_drawing(sizes: Sizes = FULL) -> dict:
    """Training starts at once (the scene pool): scenes drawn per second by one process and by every core, and
    a pool of ``drawing_pool`` scenes drawn from nothing and read back from the disk cache (a folder of its own)."""
    n, cores = sizes.drawing_scenes, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    out = {"scenes": n, "serial_scenes_per_second": scenes.scenes_per_second(n, workers=1),
           "cores": cores, "parallel_scenes_per_second": scenes.scenes_per_second(4 * n, workers=cores),
           "pool": sizes.drawing_pool}
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {"DIFFUSION_COURSE_CACHE": folder}):
        for kind in ("cold_seconds", "warm_seconds"):  # the first draws and keeps it, the second reads it back
            t0 = time.perf_counter()
            scenes.ScenePool(sizes.drawing_pool, seed=12345)
            out[kind] = time.perf_counter() - t0
    return out


def bench_collapse(sizes: Sizes = FULL) -> dict:
    """Everyone draws the same (notebook 06): templates against described diffusion, the GAN's collapse against
    diffusion at equal seconds, memorisation by training-set size (``collapse.measure``)."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    return collapse.measure(judge, sizes.told_images, sizes.memory_images, sizes.steps)


def bench_levers(sizes: Sizes = FULL) -> dict:
    """What makes Team Transformers draw (levers.py): each lever of ``sizes.levers`` trained from scratch, one after
    another, and read at every budget of ``sizes.levers_tflop``."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}

    def shown(name: str, row: dict) -> None:
        print(f"  {name}: " + ", ".join(f"{p['recognisable_rate']:.0%} at {p['tflop']:g} TFLOP (step {p['step']}, "
                                        f"{p['train_seconds']:.0f} s)" for p in row["points"]), flush=True)

    return {**levers.measure(sizes.levers, judge, sizes.levers_tflop, sizes.budget_probe_images,
                             sizes.budget_probe_steps, shown=shown), "judge": judge.config.version}


def bench_budgets(sizes: Sizes = FULL) -> dict:
    """Time to quality (budgets.py): each (preset, recipe) of ``sizes.budget_runs`` trained from scratch and read by
    the judge at every training budget it reaches, one run after another (never two at once: they are timed)."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    curves = {name: {"recipe": recipe, **budgets.curve(name, TRAIN_PRESETS[recipe], judge, sizes.budget_tflop,
                                                       sizes.budget_probe_images, sizes.budget_probe_steps)}
              for name, recipe in sizes.budget_runs}
    return {"world": budgets.WORLD, "budgets": list(sizes.budget_tflop), "probe_images": sizes.budget_probe_images,
            "probe_steps": sizes.budget_probe_steps, "judge": judge.config.version, "curves": curves,
            **budgets.goals(curves, *sizes.budget_goal_runs)}


def bench_live(sizes: Sizes = FULL) -> dict:
    """The learners' live runs as the notebooks run them (same presets, recipes, seeds and drawings): notebook 02's
    U-Net in the sketchbook trained with the course's loss (the one the notebook uses until the learner's passes),
    and notebook 05's race; keys start with the notebook's number."""
    try:
        judge = checkpoints.load_pretrained("judge", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    own = live.measure(exercises.solution("02.training_loss", show=False), judge, sizes.live_steps,
                       sizes.live_images, sizes.live_sampling_steps)
    race = challenge.run(steps=sizes.race_steps, n=sizes.live_images, sampling_steps=sizes.live_sampling_steps,
                         seed=0, judge=judge, progress=False)
    legs = {leg.budget: {s.team: {"steps": s.steps, "tflop": s.flops / 1e12, "recognisable_rate": s.recognisable,
                                  "with_object": s.with_object} for s in leg.scores} for leg in race.legs}
    best = max(race.legs[-1].scores, key=lambda s: s.recognisable)  # the equal-FLOPs leg
    leader = challenge.leader(race.legs[-1])
    return {"02_live": own, "02_live_recognisable": own["recognisable_rate"], "05_race": legs,
            "05_race_leader": {"team": best.team, "recognisable_rate": best.recognisable, "budget": "equal FLOPs",
                               "beats_the_noise": leader is not None},
            "05_race_leader_recognisable": best.recognisable, "images": sizes.live_images}
