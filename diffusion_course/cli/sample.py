"""``sample``: a grid drawn by a shipped or saved model, told a prompt (classifier-free guidance for a model that
listens, CLIP guidance for any) or nothing; notebook 06's GAN and described models draw too."""
from __future__ import annotations

from .. import config, images, shipped
from ..diffusion import checkpoints, guidance, samplers
from ..lessons import templates
from ..sketchbook import latent
from ..words import clip
from .arguments import number

CFG_SCALE = 3.0  # classifier-free guidance for a model that listens, unless told otherwise


def add(sub) -> None:
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
    s.set_defaults(func=run)


def run(args) -> None:
    model = checkpoints.load_model(args.model) if args.model.endswith(".safetensors") \
        else checkpoints.load_pretrained(args.model)
    if isinstance(model.config, (config.JudgeConfig, config.AutoencoderConfig)):
        denoisers = [n for n in config.PRESETS if (shipped.DATA_DIR / f"{n}.safetensors").exists()]
        what = ("the scene judge: it reads pictures but does not draw them" if model.config.kind == "judge" else
                "an autoencoder: it paints latents but does not dream them up")
        raise ValueError(f"{args.model!r} is {what}; sample a denoiser ({', '.join(denoisers) or 'none shipped here'}) "
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
        # (a latent model's guesses are painted by its autoencoder before the CLIP reads them)
        return {"guide": guidance.ClipGuidance(*words, prompt, clip_scale, paint=latent.painter(model))}
    if not model.listens:
        raise ValueError("this model does not listen to words: sample unet-words or latent-dit-words, or steer it "
                         "with --clip-guidance SCALE")
    return {"prompt": clip.prompt(*words, prompt), "guide": guidance.ClassifierFree(CFG_SCALE if cfg is None else cfg)}
