"""``gan``: notebook 06's tiny GAN trained with probes, then a diffusion model for the same training seconds with
probes; both curves go in the GAN's card (``lessons.collapse.race`` reads them; ``runs/gan-scenes`` by default)."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import config, images, scenes, shipped
from ..diffusion import checkpoints
from ..diffusion.training import Trainer
from ..judging import metrics
from ..lessons import adversarial
from .arguments import add_force, command_line, number
from .train import GRID_IMAGES, GRID_ROW, written


def add(sub) -> None:
    g = sub.add_parser("gan", help="train notebook 06's tiny GAN, then a diffusion model for the same seconds")
    g.add_argument("--steps", type=number(int, 1))
    g.add_argument("--seed", type=int)
    g.add_argument("--minutes", type=number(float, 0, above=True), help="stop after this much wall time (resume later)")
    g.add_argument("--probe-every", type=number(int, 1), default=500, help="GAN steps between probes")
    g.add_argument("--against", default="unet-small", help="the diffusion preset given the same seconds")
    g.add_argument("--diffusion-probe-every", type=number(int, 1), default=100)
    g.add_argument("--probe-images", type=number(int, 2), default=metrics.PROBE_IMAGES,
                   help=f"drawings per probe, for both curves (default {metrics.PROBE_IMAGES})")
    g.add_argument("--batchnorm", action="store_true", help="DCGAN's BatchNorm in the generator")
    g.add_argument("--out", help="output path without suffix (default runs/gan-scenes)")
    add_force(g)
    g.set_defaults(func=run)


def run(args) -> None:
    """Train notebook 06's tiny GAN with probes, then a diffusion model for the same training seconds with
    probes: both curves go in the GAN's card (``collapse.race`` reads them)."""
    recipe = dataclasses.replace(config.GANTrainConfig(), **{k: v for k, v in (("steps", args.steps),
                                                                                 ("seed", args.seed)) if v is not None})
    model_cfg = config.GANConfig(batchnorm=args.batchnorm)
    rival_cfg = config.PRESETS.get(args.against)
    if rival_cfg is None or rival_cfg.kind not in ("unet", "dit") or rival_cfg.cond_dim or rival_cfg.autoencoder:
        raise KeyError(f"--against takes an unconditional pixel denoiser preset (e.g. unet-small), "
                       f"got {args.against!r}")
    out = Path(args.out or shipped.RUNS_DIR / "gan-scenes")
    shipped.refuse_to_replace(out, written(out), args.force)
    judge = checkpoints.load_pretrained("judge", "cpu")
    trainer = adversarial.GANTrainer(model_cfg, recipe, run_dir=out.with_name(out.name + ".run"),
                                     probe=metrics.probe(judge, args.probe_images, draw=adversarial.sample),
                                     probe_every=args.probe_every)
    print(f"tiny GAN: {trainer.gan.num_params():,} parameters, {recipe.steps} steps, resuming at step {trainer.step}")
    trainer.run(minutes=args.minutes)
    if trainer.step < recipe.steps:
        print(f"stopped at step {trainer.step} of {recipe.steps}; run the same command again to resume")
        return
    seconds = trainer.elapsed
    print(f"{args.against} for the same {seconds:.0f} training seconds, "
          f"probed every {args.diffusion_probe_every} steps")
    # (no step count: the rival trains until its training seconds match the GAN's, at the recipe's peak rate)
    rival = Trainer(args.against, config.TrainConfig(steps=10 ** 6, seed=recipe.seed), progress=False,
                    probe=metrics.probe(judge, args.probe_images), probe_every=args.diffusion_probe_every)
    rival.measure()  # (at step 0, as the GAN's curve starts from its first probe)
    with tqdm(total=round(seconds), desc=f"{args.against}, training seconds", unit="s") as bar:
        while rival.elapsed < seconds:  # (the probes' time is not counted in its training seconds)
            rival.run(steps=rival.step + args.diffusion_probe_every)
            bar.update(min(round(rival.elapsed), round(seconds)) - bar.n)
    card = {"name": out.name, "model_config": config.to_dict(model_cfg), "train_config": dataclasses.asdict(recipe),
            "command": command_line(), "seed": recipe.seed, "scene_world": scenes.WORLD, "steps": trainer.step,
            "parameters": trainer.gan.num_params(), "train_seconds": round(trainer.elapsed, 1),
            "machine": shipped.machine(), "threads": torch.get_num_threads(),
            "curve": trainer.curve, "curve_judge_version": judge.config.version, "probe_images": args.probe_images,
            "diffusion": {"preset": args.against, "steps": rival.step, "train_seconds": round(rival.elapsed, 1),
                          "precision": str(rival.autocast_dtype or "fp32")},
            "diffusion_curve": rival.curve, "date": time.strftime("%Y-%m-%d")}
    path = checkpoints.save_model(out, trainer.gan, card)
    images.save_grid(trainer.gan.sample(GRID_IMAGES), out.with_suffix(".png"), nrow=GRID_ROW)
    print(f"wrote {path}, {out.with_suffix('.json')}, {out.with_suffix('.png')}")
