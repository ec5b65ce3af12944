"""The benchmark's sections on words: the tiny CLIP (retrieval and relation pairs on held-out scenes, and its
training time) and drawing from words (classifier-free guidance's cost, and notebook 08's challenge re-run:
composition, recognisable rate and diversity per team, prompt, kind of guidance and scale).
"""
from __future__ import annotations

import json

from .. import scenes, shipped
from ..diffusion import checkpoints
from ..judging import metrics
from ..lessons import composition
from ..words import clip, clip_measures
from .sizes import FULL, Sizes
from .speed import bench_cfg_cost


def bench_clip(sizes: Sizes = FULL) -> dict:
    """The tiny CLIP on ``sizes.clip_images`` held-out scenes (retrieval, relation pairs, on x0_hat at t = 500),
    with its training time from its card."""
    try:
        model, tokenizer = clip.load()
        denoiser = checkpoints.load_pretrained("unet-scenes", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    m = clip_measures.evaluate(model, tokenizer, n=sizes.clip_images, denoiser=denoiser)
    card = json.loads((clip.DIR / "card.json").read_text())
    return {"image_to_text": m["retrieval"]["image_to_text"], "text_to_image": m["retrieval"]["text_to_image"],
            "group": m["retrieval"]["group"], "images": m["retrieval"]["images"],
            "relation_pairs": m["relation_pairs"]["all"], "relation_pairs_by_kind": m["relation_pairs"],
            "x0_hat_image_to_text": m["retrieval_x0_hat_t500"]["image_to_text"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_minutes": card["train_seconds"] / 60, "train_steps": card["steps"], "train_machine": card["machine"]}


def bench_words(sizes: Sizes = FULL) -> dict:
    """Drawing from words: the cost of classifier-free guidance, and the challenge re-run (composition,
    recognisable, diversity per team, prompt, kind of guidance and scale; ``composition.sweep``)."""
    try:
        judge, words, unet = checkpoints.load_pretrained("judge", "cpu"), clip.load(), \
            checkpoints.load_pretrained("unet-words", "cpu")
    except shipped.CheckpointError as e:
        return {"skipped": str(e)}
    cost = bench_cfg_cost(unet, words, sizes.images, sizes.steps, sizes.reps)  # timed first, on a quiet machine
    prompts = scenes.CHALLENGE_PROMPTS[:sizes.words_prompts]
    def shown(c: composition.Score) -> None:
        print(f"  {c.team}, {c.kind} {c.scale:g}, {c.prompt!r}: composition {c.composition:.0%}, "
              f"recognisable {c.recognisable:.0%}, diversity {c.diversity:.2f} ({c.seconds:.0f} s)", flush=True)

    scores = composition.sweep(judge, words, {"cfg": sizes.cfg_scales}, prompts, sizes.words_images,
                               sizes.words_steps, progress=shown, loaded={"unet-words": unet})
    steered = [scenes.CHALLENGE_PROMPTS[sizes.clip_prompt]]
    scores += composition.sweep(judge, words, {"clip": sizes.clip_scales}, steered,
                                sizes.clip_guided_images, sizes.words_steps, reference_n=sizes.words_images,
                                progress=shown)
    real = {}
    for prompt in prompts:  # the judge's ceiling: real scenes that satisfy the prompt (not those of the diversity)
        x, _ = scenes.sample_for(prompt, sizes.words_images, seed=scenes.HELD_OUT_SEED + 1)
        real[prompt] = metrics.matches(metrics.read(judge, x), prompt).float().mean().item()
    best = composition.best(scores, "cfg")
    top = max(best.values(), key=lambda b: (b["keeps_floor"], b["composition"]))  # a fair pick first
    return {"cfg_cost": cost, "cfg_ratio": cost["ratio"], "n": sizes.words_images, "steps": sizes.words_steps,
            "prompts": list(prompts),
            "scales": {"cfg": list(sizes.cfg_scales), "clip": list(sizes.clip_scales)},
            "clip_n": sizes.clip_guided_images,
            "scores": composition.as_dicts(scores), "best": best, "best_clip": composition.best(scores, "clip"),
            "real": real, "best_composition": top["composition"], "best_diversity": top["diversity"]}
