"""How the tiny CLIP is trained: open_clip's contrastive loss (``clip.contrastive_loss``, Radford et al. 2021) on
scenes and their captions, AdamW with warm-up and cosine decay.

Training pulls each image towards its own caption and pushes it away from the other captions of the batch (a
symmetric cross-entropy over the cosine similarities, scaled by a learned temperature). Two additions to plain CLIP
training, both because of what the course asks of it later:

* **Relations.** CLIPs tend to read captions as bags of words (ARO, Winoground). For part of each
  batch the caption is also said with one relation swapped ("sitting in" <-> "beside", "near" <->
  "far from", ...; ``scenes.words.swap_relation``) and the image must prefer its true caption
  (a hard negative, after NegCLIP, Yuksekgonul et al. 2023). Left <-> right, the one relation read
  from positions alone, is made the swap half the time when a caption says a side
  (``side_negative_share``): drawn at random among the relations, it was a rare lesson, and a CLIP
  trained so (the one shipped before 2026-11-29) heard "left of" and "right of" as nearly one sentence.
* **Dusty drawings.** Guidance asks the CLIP about a sampler's x0_hat mid-trajectory, which is blurry
  and noisy, so part of each batch is dusted (q(x_t | x_0) at a random t) or blurred first.

    model, tokenizer, losses, seconds = train(ClipTrainConfig())
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import scenes
from ..config import ClipTrainConfig
from ..images import blur
from ..precision import resolve_precision
from ..schedules import get as get_schedule
from ..shipped import machine
from . import clip


def dust(x: torch.Tensor, g: torch.Generator, share: float, t_max: int) -> torch.Tensor:
    """Part of a batch made dusty, as a sampler's x0_hat mid-way looks: half of that share noised by
    q(x_t | x_0) at t ~ U[0, t_max], half blurred. (B, 3, H, W) in [-1, 1]."""
    B = len(x)
    which = torch.rand(B, generator=g)
    out = x.clone()
    noisy = which < share / 2
    if noisy.any():
        s = get_schedule("cosine", 1000)
        t = torch.randint(0, t_max + 1, (int(noisy.sum()),), generator=g)
        eps = torch.randn(out[noisy].shape, generator=g)
        out[noisy] = s.q_sample(x[noisy], t, eps).clamp(-1, 1)
    blurred = (which >= share / 2) & (which < share)
    for i in torch.nonzero(blurred)[:, 0].tolist():
        out[i] = blur(x[i:i + 1], 0.5 + float(torch.rand(1, generator=g))).clamp(-1, 1)[0]
    return out


def hard_negatives(captions: list[str], rng: np.random.Generator,
                   side_share: float = 0.0) -> tuple[list[int], list[str]]:
    """For each caption that states a relation, the same caption with one relation swapped: left <-> right
    with probability ``side_share`` when the caption says a side, else one of the relations it states at
    random. Returns (indices of those captions, their swapped versions)."""
    idx, swapped = [], []
    for i, c in enumerate(captions):
        options = {r: s for r in scenes.words.SWAPS if (s := scenes.words.swap_relation(c, r)) is not None}
        if not options:
            continue
        idx.append(i)
        if "left_right" in options and side_share > 0 and rng.random() < side_share:
            swapped.append(options["left_right"])
        else:
            swapped.append(list(options.values())[int(rng.integers(len(options)))])
    return idx, swapped


def train(cfg: ClipTrainConfig = ClipTrainConfig(), progress: bool = True):
    """Train the tiny CLIP on scenes and their captions (each scene says its caption in one of several
    phrasings, with ``cfg.loose_captions`` also those that leave near/far unsaid; a fresh phrasing is
    drawn per step). Returns (model, tokenizer, losses, seconds)."""
    model, tokenizer = clip.build(clip.MODEL_CFG, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pool = scenes.ScenePool(cfg.pool_size, seed=cfg.data_seed, progress=progress)
    phrasings = [scenes.phrasings(lab) + (scenes.loose(lab) if cfg.loose_captions else []) for lab in pool.labels]
    loss_fn = clip.contrastive_loss()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    autocast = resolve_precision(cfg.precision, torch.device("cpu"))
    losses, started = [], time.time()
    for step in tqdm(range(cfg.steps), desc="training the tiny CLIP", disable=not progress):
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(len(pool), (cfg.batch_size,), generator=g)
        x = dust(pool[idx], g, cfg.dusty_share, cfg.dusty_t_max)
        captions = [p[int(rng.integers(len(p)))] for p in (phrasings[i] for i in idx.tolist())]
        neg_idx, negs = hard_negatives(captions, rng, cfg.side_negative_share)
        with torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            image_f = model.encode_image(x, normalize=True)
            text_f = model.encode_text(tokenizer(captions + negs), normalize=True)
        image_f, text_f = image_f.float(), text_f.float()
        scale = model.logit_scale.exp()
        loss = loss_fn(image_f, text_f[:len(captions)], scale)
        if negs:  # each image must prefer its true caption to the same words with one relation swapped
            i = torch.tensor(neg_idx)
            pair = torch.stack([(image_f[i] * text_f[i]).sum(-1), (image_f[i] * text_f[len(captions):]).sum(-1)], 1)
            target = torch.zeros(len(i), dtype=torch.long)  # column 0: the true caption
            loss = loss + cfg.hard_negative_weight * F.cross_entropy(scale * pair, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))  # as open_clip's training script does
        losses.append(loss.item())
    return model.eval(), tokenizer, losses, time.time() - started


def card(cfg: ClipTrainConfig, losses: list[float], seconds: float, command: str, metrics: dict) -> dict:
    """The tiny CLIP's card (``card.json`` beside its weights): the recipe, the machine, the final loss (the mean
    of the last 50 steps) and ``metrics`` (``clip_measures.evaluate``)."""
    return {"name": "clip-scenes", "command": command, "train_config": dataclasses.asdict(cfg),
            "model_cfg": clip.MODEL_CFG, "seed": cfg.seed, "steps": cfg.steps, "scene_world": scenes.WORLD,
            "train_seconds": round(seconds, 1), "machine": machine(),
            "final_loss": round(float(np.mean(losses[-50:])), 4), "metrics": metrics,
            "date": time.strftime("%Y-%m-%d")}
