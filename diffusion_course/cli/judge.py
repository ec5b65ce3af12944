"""``judge``: the scene judge trained by its recipe, validated (and checked against the eye-calibration labels),
written as weights, card and grids of the images it accepts and rejects (``runs/judge`` by default)."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .. import config, images, scenes, shipped
from ..diffusion import checkpoints
from ..diffusion.training import mean_tail
from ..judging import calibration, metrics
from ..judging import training as judging
from .arguments import add_force, command_line, number

JUDGE_LOSS_TAIL = 100  # the card's final loss: the mean of the last 100 steps, as the shipped card was made


def add(sub) -> None:
    j = sub.add_parser("judge", help="train the scene judge and write runs/judge.* with its validation")
    j.add_argument("--steps", type=number(int, 1), default=config.JudgeTrainConfig.steps)
    j.add_argument("--seed", type=int, default=config.JudgeTrainConfig.seed)
    j.add_argument("--out", default=str(shipped.RUNS_DIR / "judge"))
    add_force(j)
    j.set_defaults(func=run)


def written(out: Path) -> tuple[Path, ...]:
    """What the judge writes: weights, card, and the grids of accepted and rejected images."""
    return (out.with_suffix(".safetensors"), out.with_suffix(".json"), out.with_name(out.name + "-accepted.png"),
            out.with_name(out.name + "-rejected.png"))


def run(args) -> None:
    out = Path(args.out)
    shipped.refuse_to_replace(out, written(out), args.force)
    started = time.time()
    recipe = dataclasses.replace(config.JudgeTrainConfig(), steps=args.steps, seed=args.seed)
    judge, losses = judging.train_judge(recipe)
    train_seconds = time.time() - started
    report, mixed, ok = judging.validate_judge(judge, seed=args.seed)
    try:
        report["eye_calibration"] = calibration.agreement(judge)
    except FileNotFoundError as e:
        report["eye_calibration"] = {"skipped": str(e)}
    card = {"name": out.name, "command": command_line(), "train_config": dataclasses.asdict(recipe),
            "seed": args.seed, "steps": args.steps, "train_seconds": round(train_seconds, 1),
            "machine": shipped.machine(), "final_loss": round(mean_tail(losses, JUDGE_LOSS_TAIL), 4),
            "scene_world": scenes.WORLD, "recognisable_definition": metrics.RECOGNISABLE,
            "validation": report, "date": time.strftime("%Y-%m-%d")}
    checkpoints.save_model(out, judge, card)
    accepted, rejected = written(out)[2:]
    images.save_grid(mixed[ok][:64], accepted, nrow=8)
    images.save_grid(mixed[~ok][:64], rejected, nrow=8)
    print(json.dumps(report, indent=2))
    print(f"wrote {out}.safetensors, {out}.json and grids of accepted / rejected images "
          f"({time.time() - started:.0f} s)")
