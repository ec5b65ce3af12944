"""``train``: a model preset trained by its recipe and written as weights, card and sample grid (``runs/PRESET``
by default); under ``torchrun`` every copy trains and rank 0 alone writes (``diffusion.distributed``)."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from .. import config, images, scenes, shipped
from ..diffusion import checkpoints, distributed, samplers
from ..diffusion.training import mean_tail
from ..judging import metrics
from ..lessons import templates
from ..sketchbook import latent
from ..words import clip
from .arguments import add_force, command_line, number
from .sample import CFG_SCALE, guided

LOSS_TAIL = 200  # the card's final loss: the mean of the last LOSS_TAIL steps (the loss is noisy step to step)
GRID_IMAGES, GRID_STEPS, GRID_ROW = 64, 50, 8  # the sample grid written beside a trained model: 8 x 8 images, DDIM-50


def add(sub) -> None:
    t = sub.add_parser("train", help="train a model preset and write weights + card + sample grid")
    t.add_argument("--preset", default="unet-scenes", help="model preset (see config.PRESETS)")
    t.add_argument("--train", help="training preset (default: the one named like the model preset)")
    t.add_argument("--steps", type=number(int, 1))
    t.add_argument("--minutes", type=number(float, 0, above=True), help="stop after this much wall time (resume later)")
    t.add_argument("--until", type=number(int, 1),
                   help="stop at this step, keeping the recipe's schedule (resume later)")
    t.add_argument("--seed", type=int)
    t.add_argument("--batch-size", type=number(int, 1))
    t.add_argument("--lr", type=number(float, 0, above=True))
    t.add_argument("--precision", choices=["fp32", "bf16", "auto"])
    t.add_argument("--eta", type=number(float, 0, 1), default=1.0, help="DDIM eta for the sample grid")
    t.add_argument("--probe-every", type=number(int, 0), default=0,
                   help=f"every N steps, judge {metrics.PROBE_IMAGES} samples of the EMA (recognisable rate, "
                        "Frechet distance)"
                        " for the card's quality curve; 0: never")
    t.add_argument("--data", help="a folder of your own PNG/JPEG pictures to train on (default: the scenes)")
    t.add_argument("--out", help="output path without suffix (default runs/PRESET)")
    add_force(t)
    t.set_defaults(func=run)


def run(args) -> None:
    """Train a preset; under ``torchrun`` every copy trains and rank 0 alone writes (``distributed``)."""
    try:
        train_and_write(args)
    finally:
        distributed.leave()


def written(out: Path) -> tuple[Path, ...]:
    """What a run to ``out`` writes beside its run folder (``out.run/``, resumed when it is there): weights, card
    and grid."""
    return out.with_suffix(".safetensors"), out.with_suffix(".json"), out.with_suffix(".png")


def train_and_write(args) -> None:
    model_cfg = config.preset(args.preset)
    if args.train is not None and args.train not in config.TRAIN_PRESETS:
        raise KeyError(f"unknown training preset {args.train!r}; known: {', '.join(config.TRAIN_PRESETS)}")
    train_cfg = config.TRAIN_PRESETS.get(args.train or args.preset, config.TrainConfig())
    overrides = {k: v for k, v in (("steps", args.steps), ("seed", args.seed), ("precision", args.precision),
                                   ("batch_size", args.batch_size), ("lr", args.lr), ("data", args.data))
                 if v is not None}
    train_cfg = dataclasses.replace(train_cfg, **overrides)
    out = Path(args.out or shipped.RUNS_DIR / args.preset)
    shipped.refuse_to_replace(out, written(out), args.force)  # before anything is drawn, trained or written
    run_dir = out.with_name(out.name + ".run")
    started = time.time()
    judge_version = None
    trainer = templates.trainer_for(model_cfg)(model_cfg, train_cfg, run_dir=run_dir, progress=True)
    if args.probe_every:
        judge = checkpoints.load_pretrained("judge")
        draw = latent.drawer(checkpoints.autoencoder_of(model_cfg, trainer.device)) if model_cfg.autoencoder else \
            templates.drawer() if trainer.model.described else None
        trainer.probe, trainer.probe_every = metrics.probe(judge, draw=draw), args.probe_every
        judge_version = judge.config.version
    say = print if trainer.world.main else lambda *_: None  # rank 0 speaks for all the copies
    if train_cfg.data:
        say(trainer.pool.describe())
    copies = f" x {trainer.world.size} processes" if trainer.world.size > 1 else ""
    say(f"{args.preset}: {trainer.model.num_params():,} parameters, {train_cfg.steps} steps, batch "
        f"{train_cfg.batch_size}{copies}, precision {trainer.autocast_dtype or 'fp32'}, device {trainer.device}, "
        f"resuming at step {trainer.step}")
    trainer.run(steps=args.until, minutes=args.minutes)
    if not trainer.world.main:
        return
    if trainer.step < train_cfg.steps:
        print(f"stopped at step {trainer.step} of {train_cfg.steps}; run the same command again to resume")
    card = {
        "name": out.name,
        "preset": args.preset,
        "model_config": config.to_dict(model_cfg),
        "train_config": dataclasses.asdict(train_cfg),
        "command": command_line(trainer.world.size),
        "seed": train_cfg.seed,
        **trained_on(trainer),
        "processes": trainer.world.size,
        "steps": trainer.step,
        "complete": trainer.step >= train_cfg.steps,
        "parameters": trainer.model.num_params(),
        "precision": str(trainer.autocast_dtype or "fp32"),
        "train_seconds": round(trainer.elapsed, 1),
        "machine": shipped.machine(),
        "threads": torch.get_num_threads(),  # fewer than the cores when two runs shared the machine
        "final_loss": round(mean_tail(trainer.losses, LOSS_TAIL), 5),
        "curve": trainer.curve,
        "curve_judge_version": judge_version,  # which judge read the curve (bench compares only like with like)
        "sampling": {"sampler": "ddim", "steps": GRID_STEPS, "eta": args.eta},
        "date": time.strftime("%Y-%m-%d"),
    }
    path = checkpoints.save_model(out, trainer.ema, card)
    images.save_grid(sample_grid(trainer.ema, args.eta), out.with_suffix(".png"), nrow=GRID_ROW)
    print(f"wrote {path}, {out.with_suffix('.json')}, {out.with_suffix('.png')} "
          f"({time.time() - started:.0f} s in all)")


def trained_on(trainer) -> dict:
    """What a model was trained on, for its card: the scenes of a world, or a folder of pictures."""
    if trainer.cfg.data:
        pool = trainer.pool
        return {"data": {"folder": str(pool.folder.resolve()), "pictures": len(pool), "skipped": len(pool.skipped)}}
    return {"scene_world": scenes.WORLD}


def sample_grid(model, eta: float = samplers.ETA) -> torch.Tensor:
    """The picture written beside a trained model: 64 drawings (DDIM-50, seed 0); for a model that listens,
    a row of 8 for each challenge prompt, with classifier-free guidance at ``CFG_SCALE``; for one told
    descriptions (or a template), a row of 8 for each challenge prompt's description."""
    if model.described:
        return torch.cat([templates.draw(model, prompt, GRID_ROW, steps=GRID_STEPS, eta=eta)
                          for prompt in scenes.CHALLENGE_PROMPTS])
    if not model.listens:
        return latent.draw(model, GRID_IMAGES, steps=GRID_STEPS, eta=eta, seed=0, progress=True)
    words = clip.load()
    return torch.cat([latent.draw(model, GRID_ROW, steps=GRID_STEPS, eta=eta, seed=0, progress=True,
                                  **guided(model, prompt, CFG_SCALE, None, words))
                      for prompt in scenes.CHALLENGE_PROMPTS])
