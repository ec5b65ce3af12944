"""Command line: ``python -m diffusion_course {train, sample, judge, clip, calibrate, bench} ...``

    python -m diffusion_course train --preset unet-scenes --out data/unet-scenes
    python -m diffusion_course train --preset unet-64 --data my-drawings/ --out runs/class-64
    torchrun --nproc-per-node 2 -m diffusion_course train --preset unet-tiny --steps 20 --out runs/unet-tiny
    python -m diffusion_course sample --model unet-scenes -n 64 --out samples.png
    python -m diffusion_course judge --out data/judge
    python -m diffusion_course clip --out data/clip-scenes
    python -m diffusion_course gan --out data/gan-scenes
    python -m diffusion_course calibrate --out eye/
    python -m diffusion_course report --model unet-words --prompt "the pup sitting in a rocket" --out report.html
    python -m diffusion_course bench [--quick]

Bad input (an unknown preset or model, a missing checkpoint, a value out of range) prints one
line, ``error: ...``, and exits with status 2; ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import config, images, scenes, shipped
from .bench import measure as bench
from .diffusion import checkpoints, distributed, guidance, samplers
from .diffusion.training import Trainer, mean_tail
from .judging import calibration, metrics
from .judging import training as judging
from .lessons import adversarial, templates
from .looking import handout
from .sketchbook import autoencoding, latent
from .words import clip

LOSS_TAIL = 200  # the card's final loss: the mean of the last LOSS_TAIL steps (the loss is noisy step to step)
JUDGE_LOSS_TAIL = 100  # the same for the judge, whose shipped card was made with 100
CFG_SCALE = 3.0  # classifier-free guidance for a model that listens, unless told otherwise
GRID_IMAGES, GRID_STEPS, GRID_ROW = 64, 50, 8  # the sample grid written beside a trained model: 8 x 8 images, DDIM-50


class Parser(argparse.ArgumentParser):
    """argparse, with its own errors (a bad choice, a missing value) in the same one-line form."""

    def error(self, message: str):
        print(f"error: {message} (see: {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def number(kind: type, low: float, high: float = math.inf, above: bool = False):
    """An argparse type: a ``kind`` (int or float) from ``low`` (or above it, if ``above``) to ``high``.
    Checked while parsing, so a bad value stops the command before anything is trained or written."""
    def parse(text: str):
        value = kind(text)  # not a number: argparse says "invalid int value"
        if not low <= value <= high or (above and value == low):  # (NaN fails the first test)
            allowed = f"above {low:g}" if above else f"at least {low:g}"
            allowed += f" and at most {high:g}" if high < math.inf else ""
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def command_line(processes: int = 1) -> str:
    """This invocation, as a command to paste into a shell (recorded in cards); under ``torchrun``, with it."""
    launch = f"torchrun --nproc-per-node {processes}" if processes > 1 else "python"
    return f"{launch} -m diffusion_course " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def cmd_train(args) -> None:
    """Train a preset; under ``torchrun`` every copy trains and rank 0 alone writes (``distributed``)."""
    try:
        train_and_write(args)
    finally:
        distributed.leave()


def train_and_write(args) -> None:
    model_cfg = config.preset(args.preset)
    if args.train is not None and args.train not in config.TRAIN_PRESETS:
        raise KeyError(f"unknown training preset {args.train!r}; known: {', '.join(config.TRAIN_PRESETS)}")
    train_cfg = config.TRAIN_PRESETS.get(args.train or args.preset, config.TrainConfig())
    overrides = {k: v for k, v in (("steps", args.steps), ("seed", args.seed), ("precision", args.precision),
                                   ("batch_size", args.batch_size), ("lr", args.lr), ("data", args.data))
                 if v is not None}
    train_cfg = dataclasses.replace(train_cfg, **overrides)
    out = Path(args.out or shipped.DATA_DIR / args.preset)
    run_dir = out.with_name(out.name + ".run")
    started = time.time()
    judge_version = None
    trainer = templates.trainer_for(model_cfg)(model_cfg, train_cfg, run_dir=run_dir, progress=True)
    if args.probe_every:
        judge = checkpoints.load_pretrained("judge")
        draw = latent.drawer(latent.autoencoder_of(model_cfg, trainer.device)) if model_cfg.autoencoder else \
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
    return torch.cat([samplers.sample(model, GRID_ROW, steps=GRID_STEPS, eta=eta, seed=0, progress=True,
                                      **guided(model, prompt, CFG_SCALE, None, words))
                      for prompt in scenes.CHALLENGE_PROMPTS])


def cmd_judge(args) -> None:
    started = time.time()
    recipe = dataclasses.replace(config.JudgeTrainConfig(), steps=args.steps, seed=args.seed)
    judge, losses = judging.train_judge(recipe)
    train_seconds = time.time() - started
    report, mixed, ok = judging.validate_judge(judge, seed=args.seed)
    try:
        report["eye_calibration"] = calibration.agreement(judge)
    except FileNotFoundError as e:
        report["eye_calibration"] = {"skipped": str(e)}
    out = Path(args.out)
    card = {"name": out.name, "command": command_line(), "train_config": dataclasses.asdict(recipe),
            "seed": args.seed, "steps": args.steps, "train_seconds": round(train_seconds, 1),
            "machine": shipped.machine(), "final_loss": round(mean_tail(losses, JUDGE_LOSS_TAIL), 4),
            "scene_world": scenes.WORLD, "recognisable_definition": metrics.RECOGNISABLE,
            "validation": report, "date": time.strftime("%Y-%m-%d")}
    checkpoints.save_model(out, judge, card)
    images.save_grid(mixed[ok][:64], out.with_name(out.name + "-accepted.png"), nrow=8)
    images.save_grid(mixed[~ok][:64], out.with_name(out.name + "-rejected.png"), nrow=8)
    print(json.dumps(report, indent=2))
    print(f"wrote {out}.safetensors, {out}.json and grids of accepted / rejected images "
          f"({time.time() - started:.0f} s)")


def cmd_sample(args) -> None:
    model = checkpoints.load_model(args.model) if args.model.endswith(".safetensors") \
        else checkpoints.load_pretrained(args.model)
    if isinstance(model.config, (config.JudgeConfig, config.AutoencoderConfig)):
        shipped = [n for n in config.PRESETS if (shipped.DATA_DIR / f"{n}.safetensors").exists()]
        what = ("the scene judge: it reads pictures but does not draw them" if model.config.kind == "judge" else
                "an autoencoder: it paints latents but does not dream them up")
        raise ValueError(f"{args.model!r} is {what}; sample a denoiser ({', '.join(shipped) or 'none shipped here'}) "
                         "or a .safetensors path")
    if isinstance(model.config, config.GANConfig) or model.described:  # (notebook 06's models)
        if args.cfg is not None or args.clip_guidance is not None:
            raise ValueError(f"{args.model!r} takes no guidance: a GAN draws from its codes, a described model from "
                             "--prompt alone (a sentence in the scene grammar)")
        if isinstance(model.config, config.GANConfig):
            if args.prompt is not None:
                raise ValueError(f"{args.model!r} is a GAN: it draws from random codes and is told nothing")
            x = model.sample(args.n, args.seed)
        else:  # a template or a described diffusion model: the sentence as a description (none: nothing said)
            x = templates.draw(model, args.prompt or {}, args.n, seed=args.seed, steps=args.steps,
                               sampler=args.sampler, eta=args.eta, progress=True)
        print(f"wrote {images.save_grid(x, args.out)}")
        return
    kwargs = {}
    if args.prompt is not None:
        kwargs = guided(model, args.prompt, args.cfg, args.clip_guidance)
    elif args.cfg is not None or args.clip_guidance is not None:
        raise ValueError("guidance needs something to say: add --prompt \"the pup sitting in a rocket\"")
    x = latent.draw(model, args.n, steps=args.steps, sampler=args.sampler, eta=args.eta, seed=args.seed,
                    progress=True, **kwargs)
    print(f"wrote {images.save_grid(x, args.out)}")


def guided(model, prompt: str, cfg: float | None, clip_scale: float | None, words=None) -> dict:
    """The sampler's arguments for drawing ``prompt``: a model that listens hears it (with classifier-free
    guidance at ``cfg``, default ``CFG_SCALE``); CLIP guidance at ``clip_scale`` steers any model."""
    words = words or clip.load()
    if clip_scale is not None:
        if cfg is not None:
            raise ValueError("choose one kind of guidance: --cfg (a model that listens) or --clip-guidance")
        return {"guide": guidance.ClipGuidance(*words, prompt, clip_scale)}
    if not model.listens:
        raise ValueError("this model does not listen to words: sample unet-words or dit-words, or steer it with "
                         "--clip-guidance SCALE")
    return {"prompt": clip.prompt(*words, prompt), "guide": guidance.ClassifierFree(CFG_SCALE if cfg is None else cfg)}


def cmd_report(args) -> None:
    if args.n < 1 or args.steps < 2:
        raise ValueError(f"report needs -n >= 1 and --steps >= 2 (it forks the run), got -n {args.n}, "
                         f"--steps {args.steps}")
    path = handout.write(args.model, args.out, args.prompt, args.n, args.steps, args.seed, args.force)
    print(f"wrote {path}: open it in a browser (it needs no kernel and no network)")


def cmd_autoencoder(args) -> None:
    """Train the latent sketchbook's autoencoder, set its scale factor, validate it with the judge."""
    if args.preset not in config.AUTOENCODER_PRESETS:
        raise KeyError(f"unknown autoencoder preset {args.preset!r}; known: {', '.join(config.AUTOENCODER_PRESETS)}")
    model_cfg = config.AUTOENCODER_PRESETS[args.preset]
    overrides = {k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None}
    recipe = dataclasses.replace(config.AutoencoderTrainConfig(), **overrides)
    out = Path(args.out or shipped.DATA_DIR / args.preset)
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


def cmd_gan(args) -> None:
    """Train notebook 06's tiny GAN with probes, then a diffusion model for the same training seconds with
    probes: both curves go in the GAN's card (``collapse.race`` reads them)."""
    recipe = dataclasses.replace(config.GANTrainConfig(), **{k: v for k, v in (("steps", args.steps),
                                                                                 ("seed", args.seed)) if v is not None})
    model_cfg = config.GANConfig(batchnorm=args.batchnorm)
    rival_cfg = config.PRESETS.get(args.against)
    if rival_cfg is None or rival_cfg.kind not in ("unet", "dit") or rival_cfg.cond_dim or rival_cfg.autoencoder:
        raise KeyError(f"--against takes an unconditional pixel denoiser preset (e.g. unet-small), "
                       f"got {args.against!r}")
    out = Path(args.out or shipped.DATA_DIR / "gan-scenes")
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


def cmd_clip(args) -> None:
    recipe = dataclasses.replace(config.ClipTrainConfig(), steps=args.steps, seed=args.seed)
    model, tokenizer, losses, seconds = clip.train(recipe)
    path = clip.save(model, args.out, clip.card(recipe, losses, seconds, command_line(), {}))  # weights first
    measured = clip.evaluate(model, tokenizer, denoiser=checkpoints.load_pretrained("unet-scenes", "cpu"))
    clip.save(model, args.out, clip.card(recipe, losses, seconds, command_line(), measured))
    print(json.dumps(measured, indent=2))
    print(f"wrote {path} ({seconds:.0f} s of training)")


def cmd_calibrate(args) -> None:
    out = Path(args.out)
    sets = calibration.make(seed=args.seed)
    grids = calibration.write_grids(sets, out)
    path = calibration.save(sets, {name: [0] * calibration.PER_SET for name in calibration.SETS},
                            out / "eye-sets.safetensors")
    print(f"wrote {', '.join(map(str, grids))} and {path} (labels all 0: label each grid by eye, "
          "then store the labels with calibration.save)")


def cmd_bench(args) -> None:
    bench.main(quick=args.quick, out=Path(args.out), only=args.only)


def main(argv=None) -> None:
    p = Parser(prog="python -m diffusion_course", description="diffusion_course tools")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
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
    t.add_argument("--out", help="output path without suffix (default data/PRESET)")
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sample", help="sample a grid from a shipped or saved model")
    s.add_argument("--model", default="unet-scenes", help="a shipped name or a .safetensors path")
    s.add_argument("-n", type=int, default=64)
    s.add_argument("--steps", type=int, default=50)
    s.add_argument("--sampler", default="ddim", choices=samplers.SAMPLERS)
    s.add_argument("--eta", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="samples.png")
    s.add_argument("--prompt", help="what to draw, e.g. \"the pup sitting in a rocket flying near the moon\"")
    s.add_argument("--cfg", type=number(float, 0), help=f"classifier-free guidance scale (default {CFG_SCALE:g})")
    s.add_argument("--clip-guidance", type=number(float, 0), help="CLIP guidance scale (any model)")
    s.set_defaults(func=cmd_sample)
    r = sub.add_parser("report", help="write a standalone page: a model draws and shows its work (notebook 10)")
    r.add_argument("--model", default="unet-scenes", help="a shipped model name (unet-scenes, unet-words, ...)")
    r.add_argument("--prompt", help="what a model that listens should draw (classifier-free guidance 3)")
    r.add_argument("-n", type=int, default=8, help="drawings to record")
    r.add_argument("--steps", type=int, default=50, help="DDIM steps")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="report.html", help="the page to write")
    r.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    r.set_defaults(func=cmd_report)
    j = sub.add_parser("judge", help="train the scene judge and write data/judge.* with its validation")
    j.add_argument("--steps", type=number(int, 1), default=config.JudgeTrainConfig.steps)
    j.add_argument("--seed", type=int, default=config.JudgeTrainConfig.seed)
    j.add_argument("--out", default=str(shipped.DATA_DIR / "judge"))
    j.set_defaults(func=cmd_judge)
    a = sub.add_parser("autoencoder", help="train the latent sketchbook's autoencoder; write data/ae-scenes.*")
    a.add_argument("--preset", default="ae-scenes", help=f"one of {', '.join(config.AUTOENCODER_PRESETS)}")
    a.add_argument("--steps", type=number(int, 1))
    a.add_argument("--seed", type=int)
    a.add_argument("--minutes", type=number(float, 0, above=True), help="stop after this much wall time (resume later)")
    a.add_argument("--out", help="output path without suffix (default data/PRESET)")
    a.set_defaults(func=cmd_autoencoder)
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
    g.add_argument("--out", help="output path without suffix (default data/gan-scenes)")
    g.set_defaults(func=cmd_gan)

    k = sub.add_parser("clip", help="train the tiny CLIP on scenes and captions; write data/clip-scenes/")
    k.add_argument("--steps", type=number(int, 1), default=config.ClipTrainConfig.steps)
    k.add_argument("--seed", type=int, default=config.ClipTrainConfig.seed)
    k.add_argument("--out", default=str(shipped.DATA_DIR / "clip-scenes"))
    k.set_defaults(func=cmd_clip)
    c = sub.add_parser("calibrate", help="draw the eye-calibration sets and their grids, to be labelled by eye")
    c.add_argument("--seed", type=int, default=1234)
    c.add_argument("--out", required=True, help="folder for the grids and images (not data/: labels come by eye)")
    c.set_defaults(func=cmd_calibrate)
    b = sub.add_parser("bench", help="benchmarks: speed, FLOP utilisation -> results file")
    b.add_argument("--quick", action="store_true", help="a small version for CI")
    b.add_argument("--out", default="bench", help="folder for results.json and RESULTS.md")
    b.add_argument("--only", choices=sorted(bench.SECTIONS),
                   help="re-measure one section into the results already in --out")
    b.set_defaults(func=cmd_bench)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except (KeyError, ValueError, FileNotFoundError, shipped.CheckpointError) as e:
        if args.debug:
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e  # KeyError's str() adds quotes
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
