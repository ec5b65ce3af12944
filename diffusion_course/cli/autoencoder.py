"""``autoencoder``: the latent sketchbook's autoencoder trained by its recipe, its scale factor set, validated with
the judge, written as weights, card and a grid of scenes over their reconstructions (``runs/PRESET`` by default)."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

from .. import config, images, scenes, shipped
from ..diffusion import checkpoints
from ..diffusion.training import mean_tail
from ..judging import metrics
from ..sketchbook import autoencoding
from .arguments import add_force, command_line, number
from .train import LOSS_TAIL, written


def add(sub) -> None:
    a = sub.add_parser("autoencoder", help="train the latent sketchbook's autoencoder; write runs/ae-scenes.*")
    a.add_argument("--preset", default="ae-scenes", help=f"one of {', '.join(config.AUTOENCODER_PRESETS)}")
    a.add_argument("--steps", type=number(int, 1))
    a.add_argument("--seed", type=int)
    a.add_argument("--minutes", type=number(float, 0, above=True), help="stop after this much wall time (resume later)")
    a.add_argument("--out", help="output path without suffix (default runs/PRESET)")
    add_force(a)
    a.set_defaults(func=run)


def run(args) -> None:
    """Train the latent sketchbook's autoencoder, set its scale factor, validate it with the judge."""
    if args.preset not in config.AUTOENCODER_PRESETS:
        raise KeyError(f"unknown autoencoder preset {args.preset!r}; known: {', '.join(config.AUTOENCODER_PRESETS)}")
    model_cfg = config.AUTOENCODER_PRESETS[args.preset]
    overrides = {k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None}
    recipe = dataclasses.replace(config.AutoencoderTrainConfig(), **overrides)
    out = Path(args.out or shipped.RUNS_DIR / args.preset)
    shipped.refuse_to_replace(out, written(out), args.force)
    trainer = autoencoding.AutoencoderTrainer(model_cfg, recipe, run_dir=out.with_name(out.name + ".run"))
    print(f"{args.preset}: {trainer.ae.num_params():,} parameters, latent {trainer.ae.latent_shape}, "
          f"{recipe.steps} steps, precision {trainer.autocast_dtype or 'fp32'}, resuming at step {trainer.step}")
    trainer.run(minutes=args.minutes)
    if trainer.step < recipe.steps:
        print(f"stopped at step {trainer.step} of {recipe.steps}; run the same command again to resume")
    ae = trainer.finish()
    measured = autoencoding.validate(ae, checkpoints.load_pretrained("judge", "cpu"))
    card = {"name": out.name, "preset": args.preset, "model_config": config.to_dict(model_cfg),
            "train_config": dataclasses.asdict(recipe), "command": command_line(), "seed": recipe.seed,
            "scene_world": scenes.WORLD, "steps": trainer.step, "complete": trainer.step >= recipe.steps,
            "parameters": ae.num_params(), "precision": str(trainer.autocast_dtype or "fp32"),
            "train_seconds": round(trainer.elapsed, 1), "machine": shipped.machine(),
            "final_l1_per_pixel": round(mean_tail(trainer.log["reconstruction"], LOSS_TAIL), 5),
            "final_kl_per_image": round(mean_tail(trainer.log["kl"], LOSS_TAIL), 1),
            "scale": ae.scale.item(), "validation": measured, "date": time.strftime("%Y-%m-%d")}
    path = checkpoints.save_model(out, ae, card)
    x = metrics.reference_scenes(32)[0]
    with torch.no_grad():
        images.save_grid(torch.cat([x, ae.decode(ae.encode(x))]), out.with_suffix(".png"), nrow=16)
    print(json.dumps(measured, indent=2))
    print(f"wrote {path}, {out.with_suffix('.json')} and {out.with_suffix('.png')} (scenes above, "
          "their reconstructions below)")
