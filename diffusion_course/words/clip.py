"""The teacher's words: a tiny CLIP (Radford et al. 2021) for our scenes, built and trained with open_clip.

Contrastive language-image pre-training: an image encoder and a text encoder map a scene and its
caption to unit vectors in one space; training pulls each image towards its own caption and pushes
it away from the other captions of the batch (open_clip's ``ClipLoss``: a symmetric cross-entropy
over the cosine similarities, scaled by a learned temperature).

This is the only module that imports ``open_clip``. The model is an ``open_clip.CLIP`` built from an
open_clip model config (``MODEL_CFG``: a small ViT for 32x32 images, a small text transformer with
open_clip's own BPE tokenizer, which ships inside the package) and saved in open_clip's local-directory
format, so ``open_clip.create_model_and_transforms("local-dir:data/clip-scenes")`` loads it offline.

Two additions to plain CLIP training, both because of what the course asks of it later:

* **Relations.** CLIPs tend to read captions as bags of words (ARO, Winoground). For part of each
  batch the caption is also said with one relation swapped ("sitting in" <-> "beside", "near" <->
  "far from", ...; ``scenes.words.swap_relation``) and the image must prefer its true caption
  (a hard negative, after NegCLIP, Yuksekgonul et al. 2023). Left <-> right, the one relation read
  from positions alone, is made the swap half the time when a caption says a side
  (``side_negative_share``): drawn at random among the relations, it was a rare lesson, and a CLIP
  trained so (the one shipped before 2026-11-29) heard "left of" and "right of" as nearly one sentence.
* **Dusty drawings.** Guidance asks the CLIP about a sampler's x0_hat mid-trajectory, which is blurry
  and noisy, so part of each batch is dusted (q(x_t | x_0) at a random t) or blurred first.

    model, tokenizer = load()
    sims = similarity(model, tokenizer, images, ["a blue pup sitting in a red rocket flying near the moon"])
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from .. import scenes
from ..config import ClipTrainConfig
from ..images import blur
from ..precision import resolve_precision
from ..scenes import HELD_OUT_SEED, check_images
from ..schedules import get as get_schedule
from ..schedules import predict_x0
from ..shipped import DATA_DIR, CheckpointError, machine
from .prompts import Prompt

DIR = DATA_DIR / "clip-scenes"
# open_clip's model config. Widths were chosen by measuring step times (see the card): the text
# tower's BPE table has 49,408 rows whatever its width, so the width is kept small.
MODEL_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 96, "layers": 3, "head_width": 32},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
# images in [-1, 1] are what open_clip's transform makes of a picture with mean = std = 0.5
PREPROCESS_CFG = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
CONFIG_FILE, WEIGHTS_FILE = "open_clip_config.json", "open_clip_model.safetensors"
REMAKE = "python -m diffusion_course clip --out data/clip-scenes"


# ----------------------------------------------------------------------------- building and loading

def write_config(path: Path, model_cfg: dict = MODEL_CFG) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / CONFIG_FILE).write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": PREPROCESS_CFG}, indent=2))
    return path


def build(model_cfg: dict = MODEL_CFG, seed: int = 0):
    """A fresh (untrained) tiny CLIP: an ``open_clip.CLIP`` from the config, and its tokenizer."""
    torch.manual_seed(seed)
    model = open_clip.CLIP(**model_cfg)
    tokenizer = open_clip.SimpleTokenizer(context_length=model_cfg["text_cfg"]["context_length"])
    return model, tokenizer


def save(model, path: str | Path, card: dict | None = None, model_cfg: dict = MODEL_CFG) -> Path:
    """open_clip's local-directory format (config + safetensors) of a model built from ``model_cfg``,
    plus our card (``card.json``)."""
    path = write_config(Path(path), model_cfg)
    tmp = path / (WEIGHTS_FILE + ".tmp")
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(path / WEIGHTS_FILE)  # never a half-written file under the real name
    if card is not None:
        (path / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return path


def load(path: str | Path = DIR, device: str | torch.device = "cpu"):
    """The shipped tiny CLIP (or one at ``path``) through open_clip's own ``local-dir:`` loader, and its
    tokenizer. Missing or unreadable files raise ``CheckpointError`` with the command that re-makes them."""
    path = Path(path)
    if not (path / CONFIG_FILE).exists() or not (path / WEIGHTS_FILE).exists():
        raise CheckpointError(f"no tiny CLIP at {path} ({CONFIG_FILE} and {WEIGHTS_FILE} expected); "
                              f"make it with: {REMAKE}")
    try:
        load_file(path / WEIGHTS_FILE)  # a readable file, before open_clip gets to it
        d = torch.device(device)  # open_clip draws initial weights before loading ours: leave the caller's seed be
        with torch.random.fork_rng(devices=[d] if d.type == "cuda" else []):
            model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{path}", device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} does not hold a readable tiny CLIP ({e}); delete it and re-make it with: "
                              f"{REMAKE}") from e
    return model.eval(), open_clip.get_tokenizer(f"local-dir:{path}")


# ----------------------------------------------------------------------------- reading words and images

def tokenize(tokenizer, captions, allow_empty: bool = False) -> torch.Tensor:
    """Token ids (N, context_length). Refuses empty (unless ``allow_empty``: the null prompt) or non-string
    captions; warns and truncates the ones longer than the context."""
    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions)
    bad = [c for c in captions if not isinstance(c, str) or (not c.strip() and not allow_empty)]
    if bad or not captions:
        raise ValueError(f"captions must be non-empty strings, got {bad[:3] if bad else 'no captions'}")
    n = tokenizer.context_length
    long = [c for c in captions if len(tokenizer.encode(c)) + 2 > n]
    if long:
        warnings.warn(f"{len(long)} caption(s) longer than the context length of {n} tokens are truncated, "
                      f"e.g. {long[0]!r}", stacklevel=2)
    return tokenizer(captions)


def encode_images(model, x: torch.Tensor) -> torch.Tensor:
    """Unit image embeddings (B, D) of scenes (B, 3, 32, 32) in [-1, 1]."""
    check_images(x, model.visual.image_size[0])
    return model.encode_image(x.float(), normalize=True)


def encode_texts(model, tokenizer, captions) -> torch.Tensor:
    """Unit text embeddings (N, D) of captions."""
    return model.encode_text(tokenize(tokenizer, captions), normalize=True)


@torch.no_grad()
def prompt(model, tokenizer, captions) -> Prompt:
    """What a denoiser that listens reads of ``captions`` (``prompts.Prompt``): the text transformer's token
    vectors (after its final LayerNorm, caught with a hook on ``ln_final``), the mask of real tokens, the
    unit caption embedding, and the tokens as text. The empty caption "" is the null prompt."""
    ids = tokenize(tokenizer, captions, allow_empty=True)  # (B, L), padding 0 after the end token
    seen = {}
    hook = model.ln_final.register_forward_hook(lambda _m, _i, out: seen.update(tokens=out))
    try:
        pooled = model.encode_text(ids, normalize=True)  # (B, E)
    finally:
        hook.remove()
    end = ids.argmax(dim=-1)  # the end-of-text token has the largest id (open_clip's own pooling rule)
    mask = torch.arange(ids.shape[1])[None] <= end[:, None]  # (B, L)
    names = {tokenizer.sot_token_id: "<start>", tokenizer.eot_token_id: "<end>"}
    words = [[names.get(i, tokenizer.decode([i]).strip()) for i in row[:n + 1].tolist()]
             for row, n in zip(ids, end.tolist())]
    with torch.autocast(model.ln_final.weight.device.type, enabled=False):  # in full precision, as models store it
        reader = model.encode_text(tokenize(tokenizer, [""], allow_empty=True), normalize=True)  # this encoder's ""
    return Prompt([captions] if isinstance(captions, str) else list(captions), seen["tokens"].float(), mask,
                  pooled.float(), words, reader.float())


@torch.no_grad()
def similarity(model, tokenizer, x: torch.Tensor, captions) -> torch.Tensor:
    """Cosine similarities (B, N) of images and captions."""
    return encode_images(model, x) @ encode_texts(model, tokenizer, captions).T


def saliency(model, tokenizer, x: torch.Tensor, caption: str) -> torch.Tensor:
    """Which pixels the similarity to ``caption`` depends on: |d sim / d x| summed over colour, per image
    (B, H, W), each map scaled to a maximum of 1. The same gradient CLIP guidance follows (notebook 08)."""
    x = x.detach().clone().float().requires_grad_(True)
    check_images(x, model.visual.image_size[0])
    sim = (model.encode_image(x, normalize=True) @ encode_texts(model, tokenizer, [caption]).T).sum()
    (grad,) = torch.autograd.grad(sim, x)
    m = grad.abs().sum(1)
    return m / m.flatten(1).max(1).values.clamp(min=1e-12)[:, None, None]


# ----------------------------------------------------------------------------- training

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
    model, tokenizer = build(MODEL_CFG, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pool = scenes.ScenePool(cfg.pool_size, seed=cfg.data_seed, progress=progress)
    phrasings = [scenes.phrasings(lab) + (scenes.loose(lab) if cfg.loose_captions else []) for lab in pool.labels]
    loss_fn = open_clip.ClipLoss()
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


# ----------------------------------------------------------------------------- measuring

@torch.no_grad()
def retrieval(model, tokenizer, x: torch.Tensor, labels: list[scenes.SceneLabels], group: int = 32) -> dict:
    """Top-1 retrieval among ``group`` held-out scenes, both ways. A hit is a retrieved caption that is
    true of the image (image -> text), or a retrieved image of which the caption is true (text -> image):
    two scenes may share a description, and either is then right."""
    captions = [scenes.caption(lab) for lab in labels]
    facts = [scenes.facts(lab) for lab in labels]
    said = [scenes.parse(c) for c in captions]
    hits_i2t = hits_t2i = n = 0
    for s in range(0, len(x) - group + 1, group):
        sim = similarity(model, tokenizer, x[s:s + group], captions[s:s + group])
        for i in range(group):
            hits_i2t += scenes.satisfies(said[s + int(sim[i].argmax())], facts[s + i])
            hits_t2i += scenes.satisfies(said[s + i], facts[s + int(sim[:, i].argmax())])
        n += group
    return {"image_to_text": hits_i2t / max(1, n), "text_to_image": hits_t2i / max(1, n), "images": n, "group": group}


@torch.no_grad()
def relation_pairs(model, tokenizer, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> dict:
    """Caption pairs with the same words and one relation changed: how often the image is closer to the
    true one, per relation and over all pairs."""
    out, total, right = {}, 0, 0
    for rel in scenes.words.SWAPS:
        idx, true, false = [], [], []
        for i, lab in enumerate(labels):
            for c in scenes.phrasings(lab):
                if (s := scenes.words.swap_relation(c, rel)) is not None:
                    idx.append(i), true.append(c), false.append(s)
                    break
        if not idx:
            continue
        img = encode_images(model, x[idx])
        s_true = (img * encode_texts(model, tokenizer, true)).sum(-1)
        ok = s_true > (img * encode_texts(model, tokenizer, false)).sum(-1)
        out[rel] = ok.float().mean().item()
        total, right = total + len(idx), right + int(ok.sum())
    out["all"] = right / max(1, total)
    return out


@torch.no_grad()
def x0_hat_at(denoiser, x0: torch.Tensor, t: int = 500, seed: int = 0) -> torch.Tensor:
    """What a sampler's x0_hat looks like at step t: dust real scenes to x_t with q(x_t | x_0), and let
    ``denoiser`` (a shipped denoiser) predict x0 from x_t (Ho et al. 2020, eq. 15). (B, 3, H, W) in [-1, 1]."""
    s = denoiser.schedule
    g = torch.Generator().manual_seed(seed)
    tt = torch.full((len(x0),), t, dtype=torch.long)
    x_t = s.q_sample(x0, tt, torch.randn(x0.shape, generator=g))
    eps_hat = denoiser(x_t, tt)
    return predict_x0(x_t, eps_hat, s.alpha_bar[tt][:, None, None, None]).clamp(-1, 1)


def evaluate(model, tokenizer, n: int = 512, denoiser=None, t: int = 500) -> dict:
    """The tiny CLIP on ``n`` held-out scenes: retrieval among 32 both ways, relation pairs, and (given a
    denoiser) retrieval on that denoiser's x0_hat at step ``t``."""
    x, labels = scenes.batch(n, seed=HELD_OUT_SEED)
    out = {"retrieval": retrieval(model, tokenizer, x, labels),
           "relation_pairs": relation_pairs(model, tokenizer, x, labels)}
    if denoiser is not None:
        out[f"retrieval_x0_hat_t{t}"] = retrieval(model, tokenizer, x0_hat_at(denoiser, x, t), labels)
    return out


def card(cfg: ClipTrainConfig, losses: list[float], seconds: float, command: str, metrics: dict) -> dict:
    return {"name": "clip-scenes", "command": command, "train_config": dataclasses.asdict(cfg),
            "model_cfg": MODEL_CFG, "seed": cfg.seed, "steps": cfg.steps, "scene_world": scenes.WORLD,
            "train_seconds": round(seconds, 1), "machine": machine(),
            "final_loss": round(float(np.mean(losses[-50:])), 4), "metrics": metrics,
            "date": time.strftime("%Y-%m-%d")}
