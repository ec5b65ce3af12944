"""The teacher's words: a tiny CLIP (Radford et al. 2021) for our scenes, built and read with open_clip.

Contrastive language-image pre-training: an image encoder and a text encoder map a scene and its
caption to unit vectors in one space, so that a scene sits close to its own caption (``clip_training``
trains it; ``clip_measures`` measures how well it reads).

This is the only module that imports ``open_clip``. The model is an ``open_clip.CLIP`` built from an
open_clip model config (``MODEL_CFG``: a small ViT for 32x32 images, a small text transformer with
open_clip's own BPE tokenizer, which ships inside the package) and saved in open_clip's local-directory
format, so ``open_clip.create_model_and_transforms("local-dir:data/clip-scenes")`` loads it offline.
``prompt`` reads a sentence the way a denoiser that listens reads it (``prompts.Prompt``).

    model, tokenizer = load()
    sims = similarity(model, tokenizer, images, ["a blue pup sitting in a red rocket flying near the moon"])
"""
from __future__ import annotations

import json
import warnings
import weakref
from pathlib import Path

import open_clip
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..scenes import check_images
from ..shipped import DATA_DIR, CheckpointError
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


def contrastive_loss():
    """open_clip's ``ClipLoss``: the symmetric cross-entropy over the image-caption cosine similarities of a batch,
    scaled by the learned temperature (each image's own caption is the right answer among the batch's captions,
    and each caption's own image among its images). ``loss(image_features, text_features, logit_scale)``."""
    return open_clip.ClipLoss()


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
    return Prompt([captions] if isinstance(captions, str) else list(captions), seen["tokens"].float(), mask,
                  pooled.float(), words, null_reading(model, tokenizer))


# each text encoder's reading of "", kept while its model lives: model -> (the weights it was read from, the reading)
_NULL_READINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@torch.no_grad()
def null_reading(model, tokenizer) -> torch.Tensor:
    """This text encoder's unit embedding of the empty caption "" (1, E) in fp32, read in full precision whatever
    autocast is on (as models store it): the ``reader`` of every prompt it reads, so that a model trained to listen
    to another CLIP can say so. Read once per model, not once per prompt: kept beside the weights it was read from
    (their device, storage and version counter), so a model whose weights change afterwards (trained further,
    loaded into, moved or cast) reads "" again, and the reading is always the one this model makes now."""
    weights = tuple((w.device, w.data_ptr(), w._version) for w in (*model.parameters(), *model.buffers()))
    kept = _NULL_READINGS.get(model)
    if kept is None or kept[0] != weights:
        with torch.autocast(model.ln_final.weight.device.type, enabled=False):
            reading = model.encode_text(tokenize(tokenizer, [""], allow_empty=True), normalize=True).float()
        _NULL_READINGS[model] = kept = (weights, reading)
    return kept[1]


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
