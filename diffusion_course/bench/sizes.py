"""How much each benchmark measurement does: ``Sizes``, with ``FULL`` (the shipped results) and ``QUICK``
(``bench --quick``, for CI); and the shipped ``TEAMS`` that the head-to-head (notebook 05) sets side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import scenes
from ..judging import metrics
from ..lessons import budgets, challenge, live
from ..lessons import levers as levers_mod  # (a field below is named levers)

# the head-to-head's two teams live in the same space, the sketchbook, learned the same scene world under the same
# recipe's keys (each its own steps and warm-up), and were probed during training by the same judge
TEAMS = {"latent-unet": "Team CNN", "latent-dit": "Team Transformers"}


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does: ``FULL`` for the shipped results, ``QUICK`` for CI (``--quick``)."""

    matmul: int = 1024  # n of the n x n matmul that measures the peak
    train_batch: int = 64  # the fp32 vs bf16 training step of unet-scenes
    train_reps: int = 5  # timed repeats; the fastest counts (as for every *_reps and reps below)
    team_batch: int | None = None  # each team's train step; None: its training preset's batch
    team_reps: int = 3
    images: int = 16  # the timed DDIM batch (the goals are stated for 16 images)
    steps: int = 50  # its DDIM steps (the goals are stated for DDIM-50)
    reps: int = 3
    team_images: int = 16  # each team's timed DDIM batch
    probe_images: int = metrics.PROBE_IMAGES  # each team's final probe, as in the cards' curves
    # the quality table: the shipped unconditional scene denoisers, drawn with no words (the listening and the
    # memorising ones are judged where they are taught: ``words``, ``collapse``)
    quality_models: tuple[str, ...] = ("unet-scenes", "dit-scenes", "latent-unet", "latent-dit")
    quality_images: int = 256  # images per model in the quality table
    quality_steps: int = 50  # their DDIM steps (eta 1)
    train_pool: int = 20000  # the denoisers' training scenes that memorisation compares against
    clip_images: int = 1024  # held-out scenes for the tiny CLIP's retrieval (in groups of 32) and relation pairs
    # drawing from words (composition.py): drawings per team, prompt, kind of guidance and scale. The sweep's
    # cost is teams x prompts x scales x images: a cell of 128 took 41 s for Team CNN and 106 s for Team
    # Transformers with classifier-free guidance (2-core AVX-512 CPU, 2026-11-29), 38 minutes for the whole sweep.
    # 128 per cell keeps a rate's 95 % interval within +-9 points; scale 5 is where Team CNN's diversity falls
    # below 0.8 of real scenes on some sentences, so the curve shows the trade-off's far side
    words_images: int = 128
    words_steps: int = 25  # DDIM steps of the sweep
    cfg_scales: tuple[float, ...] = (1.0, 3.0, 5.0)
    words_prompts: int = len(scenes.CHALLENGE_PROMPTS)
    # CLIP guidance costs a backward pass through the model and the CLIP per step: one prompt, fewer drawings.
    # Prompt 1 (the pup beside a rocket flying near the moon) is one the unconditional models' world holds
    clip_scales: tuple[float, ...] = (0.0, 30.0, 100.0)
    clip_prompt: int = 1
    clip_guided_images: int = 32
    # showing its work (showing.py): samples per team read at every step, images per fork, continuations
    showing_images: int = 64
    fork_images: int = 16
    forks: int = 4
    held_out_images: int = 512  # held-out scenes each autoencoder reconstructs (sketching.py)
    # fewer steps (stepping.py): drawings per sampler and number of steps
    stepping_images: int = 128
    stepping_steps: tuple[int, ...] = (5, 10, 20, 50)
    told_images: int = 16  # everyone draws the same (collapse.py): pictures per description, and drawings of each
    memory_images: int = 64  # memo model checked against its training scenes
    drawing_scenes: int = 1024  # scenes drawn to time drawing (4x as many by every core)
    drawing_pool: int = 20000  # the pool drawn from nothing, then read back from the disk cache
    # time to quality (budgets.py): (model preset, training recipe) trained from scratch, read at training budgets
    # (TFLOP) by a probe of that many drawings in that many DDIM steps; the goals read the two named runs
    budget_runs: tuple[tuple[str, str], ...] = (("unet-fast", "unet-fast"), ("dit-fast", "dit-fast"),
                                                ("unet-scenes", "unet-scenes"), ("dit-scenes", "dit-scenes"))
    budget_tflop: tuple[float, ...] = budgets.BUDGETS
    budget_probe_images: int = metrics.PROBE_IMAGES
    budget_probe_steps: int = 20
    budget_goal_runs: tuple[str, str] = ("unet-fast", "dit-fast")
    # what makes Team Transformers draw (levers.py): the levers trained from scratch, read at these budgets (TFLOP)
    # by the time-to-quality probe
    levers: tuple[str, ...] = ("pixel, v", "pixel, patch 4, v", "latent, patch 1", "latent, patch 2",
                               "latent, patch 1 + alignment", "latent, patch 1 + masking", "latent U-Net (Team CNN)")
    levers_tflop: tuple[float, ...] = levers_mod.BUDGETS
    # the learners' live runs (live.py, challenge.py), as notebooks 02 and 05 run them: None, the recipe's steps
    live_steps: int | None = None
    race_steps: int = challenge.STEPS
    live_images: int = live.DRAWINGS
    live_sampling_steps: int = live.STEPS


FULL = Sizes()
QUICK = Sizes(matmul=512, train_batch=16, train_reps=2, team_batch=16, team_reps=1, steps=10, reps=1,
              team_images=4, probe_images=16, quality_images=32, quality_steps=20, train_pool=1000,
              clip_images=64, words_images=8, words_steps=5, cfg_scales=(1.0, 4.0), clip_scales=(0.0, 30.0),
              clip_prompt=0, clip_guided_images=8, words_prompts=1, showing_images=8, fork_images=2, forks=2,
              held_out_images=64, stepping_images=8, stepping_steps=(5, 10), drawing_scenes=256,
              drawing_pool=2048, told_images=4, memory_images=8,
              budget_runs=(("unet-tiny", "quick"), ("dit-tiny", "quick")), budget_tflop=(0.05, 0.2),
              budget_probe_images=8, budget_probe_steps=5, budget_goal_runs=("unet-tiny", "dit-tiny"),
              levers=("tiny", "tiny + masking", "tiny + alignment"), levers_tflop=(0.02, 0.05),
              live_steps=10, race_steps=2, live_images=4, live_sampling_steps=5)
