"""Everyone draws the same (notebook 06): the three experiments, measured for ``bench`` and the notebook.

1. **Told what to draw, without dust** (``told``): the template (``templates``) and the described diffusion
   model are each asked for the same description 16 times; the judge reads how varied and how recognisable
   the 16 are, and whether they show what was asked, against real scenes that fit the description.
2. **A generator that collapses** (``race``): the tiny GAN's quality, diversity and coverage against its
   training seconds, beside a diffusion model given the same seconds; both curves are in the GAN's card,
   made by one command (``python -m diffusion_course gan``).
3. **Memorisation** (``memorised``): diffusion models trained on 16, 64 and 1,024 scenes (and the shipped
   one, on 20,000): the share of samples closer to a training scene than real scenes are
   (``memorisation.memorisation``), each with its nearest training scene.
"""
from __future__ import annotations

import torch

from .. import scenes, shipped
from ..diffusion import checkpoints
from ..images import dequantize
from ..judging import memorisation, metrics
from ..sketchbook import latent
from . import templates

# descriptions asked 16 times each: said plainly (no colours), each a different kind of scene
TOLD_PROMPTS = (
    "the pup sitting in a rocket flying near the moon",
    "the pup beside a rocket standing far from the moon",
    "a rocket flying to the left of the moon",
    "the pup and a full moon",
)
MEMORY_SIZES = (16, 64, 1024)  # training-set sizes of unet-memo-N (config.TRAIN_PRESETS["memo-N"])
SHIPPED = "unet-scenes"  # the shipped unconditional U-Net, trained on 20,000 scenes


def told(judge, models: dict, prompts=TOLD_PROMPTS, n: int = 16, steps: int = 50, reference: int = 64,
         seed: int = 0) -> dict:
    """Each model (by name) asked for each prompt's description ``n`` times: per prompt, the pictures and the
    judge's reading of them (recognisable, matches the prompt, diversity and twins against ``reference`` real
    scenes that fit the prompt); per model, the means over prompts."""
    out = {"prompts": list(prompts), "images": n, "per_prompt": [], "mean": {}}
    for p in prompts:
        real = metrics.read(judge, scenes.sample_for(p, reference, seed=seed + 1)[0], redraw_objects=False)
        row = {"prompt": p, "models": {}}
        for name, model in models.items():
            x = templates.draw(model, p, n, seed=seed, steps=steps)
            r = metrics.read(judge, x)
            div = metrics.diversity_reading(r, real)
            row["models"][name] = {"images": x, "recognisable": metrics.recognisable_reading(r).float().mean().item(),
                                   "matches": metrics.matches(r, p).float().mean().item(),
                                   "diversity": div["ratio_to_real"], "twins": div["twins"]}
        out["per_prompt"].append(row)
    for name in models:
        out["mean"][name] = {k: sum(row["models"][name][k] for row in out["per_prompt"]) / len(prompts)
                             for k in ("recognisable", "matches", "diversity", "twins")}
    return out


def race(card: dict) -> dict:
    """The GAN's curve and the diffusion model's, from the GAN's card, and both read at the seconds the shorter
    run reached (the last probe of each at or before it)."""
    gan, diffusion = card["curve"], card["diffusion_curve"]
    seconds = min(gan[-1]["train_seconds"], diffusion[-1]["train_seconds"])

    def at(curve):
        return [p for p in curve if p["train_seconds"] <= seconds + 1e-9][-1]

    return {"seconds": seconds, "gan": at(gan), "diffusion": at(diffusion), "gan_curve": gan,
            "diffusion_curve": diffusion, "diffusion_preset": card.get("diffusion", {}).get("preset")}


def world_of(name: str) -> int:
    """The scene world a shipped model was trained on (its card; cards before world 2 name none: world 1)."""
    return checkpoints.card(name).get("scene_world", 1)


def training_set(name: str) -> torch.Tensor:
    """The scenes a shipped denoiser was trained on, and their mirror images (its training flipped them at
    random), from its card: the pool's size, seed and scene world. (N * 2, 3, 32, 32) uint8, as a pool keeps
    them (``images.dequantize`` gives floats)."""
    cfg = checkpoints.card(name)["train_config"]
    pool = scenes.ScenePool(cfg["pool_size"], seed=cfg["seed"], world=world_of(name))
    return torch.cat([pool.images, pool.images.flip(-1)])


def memorised(name: str, n: int = 64, steps: int = 50, seed: int = 0) -> dict:
    """``n`` drawings of a shipped denoiser against its own training scenes (``training_set``): the memorised
    share and median distance ratio (``memorisation.memorisation``; the real baseline is held-out scenes of the world
    it learned), and per drawing whether it is flagged, its nearest training scene and the distance ratio."""
    model = checkpoints.load_pretrained(name, "cpu")
    train = training_set(name)
    x = latent.draw(model, n, steps=steps, seed=seed)
    held_out = scenes.batch(max(n, 64), seed=scenes.HELD_OUT_SEED, world=world_of(name))[0]
    m = memorisation.memorisation(x, train, held_out)
    return {"name": name, "training_scenes": len(train) // 2, "images": x,
            "nearest_images": dequantize(train[m["nearest"]]), **m}


def measure(judge, told_images: int = 16, memory_images: int = 64, steps: int = 50) -> dict:
    """The three headline figures for ``bench`` (numbers only)."""
    out = {}
    try:
        models = {name: checkpoints.load_pretrained(name, "cpu") for name in ("template-labels", "unet-labels")}
        t = told(judge, models, n=told_images, steps=steps)
        out["told"] = {"images": told_images, "mean": t["mean"],
                       "per_prompt": [{"prompt": row["prompt"],
                                       **{name: {k: v for k, v in m.items() if k != "images"}
                                          for name, m in row["models"].items()}} for row in t["per_prompt"]]}
    except shipped.CheckpointError as e:
        out["told"] = {"skipped": str(e)}
    try:
        r = race(checkpoints.card("gan-scenes"))
        out["race"] = {k: r[k] for k in ("seconds", "gan", "diffusion", "diffusion_preset")}
    except shipped.CheckpointError as e:
        out["race"] = {"skipped": str(e)}
    rows = []
    for name in [f"unet-memo-{k}" for k in MEMORY_SIZES] + [SHIPPED]:
        try:
            m = memorised(name, memory_images, steps)
        except shipped.CheckpointError as e:
            rows.append({"name": name, "skipped": str(e)})
            continue
        rows.append({k: m[k] for k in ("name", "training_scenes", "memorised_fraction", "median_nn_ratio")})
    out["memorised"] = {"images": memory_images, "models": rows}
    return out
