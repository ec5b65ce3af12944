"""``clip``: the tiny CLIP trained on scenes and captions, measured, and written as an open_clip folder with its
card (``runs/clip-scenes/`` by default; ``words.clip_training``)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .. import config, shipped
from ..diffusion import checkpoints
from ..words import clip, clip_measures, clip_training
from .arguments import add_force, command_line, number


def add(sub) -> None:
    k = sub.add_parser("clip", help="train the tiny CLIP on scenes and captions; write runs/clip-scenes/")
    k.add_argument("--steps", type=number(int, 1), default=config.ClipTrainConfig.steps)
    k.add_argument("--seed", type=int, default=config.ClipTrainConfig.seed)
    k.add_argument("--out", default=str(shipped.RUNS_DIR / "clip-scenes"))
    add_force(k)
    k.set_defaults(func=run)


def run(args) -> None:
    shipped.refuse_to_replace(args.out, [Path(args.out)], args.force)  # (the whole folder: config, weights, card)
    recipe = dataclasses.replace(config.ClipTrainConfig(), steps=args.steps, seed=args.seed)
    model, tokenizer, losses, seconds = clip_training.train(recipe)
    path = clip.save(model, args.out, clip_training.card(recipe, losses, seconds, command_line(), {}))  # weights first
    measured = clip_measures.evaluate(model, tokenizer, denoiser=checkpoints.load_pretrained("unet-scenes", "cpu"))
    clip.save(model, args.out, clip_training.card(recipe, losses, seconds, command_line(), measured))
    print(json.dumps(measured, indent=2))
    print(f"wrote {path} ({seconds:.0f} s of training)")
