"""Saving and loading models: safetensors weights + a JSON card. Nothing is pickled.

A shipped model is two files in ``data/``:
    NAME.safetensors   the (EMA) weights, with the model config in the file's metadata
    NAME.json          the card: preset, command, seed, steps, wall time, machine, metrics

``load_pretrained("unet-scenes")`` finds them by name.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from .. import config as config_mod
from .. import shipped
from ..models import Autoencoder, build
from ..shipped import CheckpointError


def save_model(path: str | Path, model, card: dict | None = None) -> Path:
    """Write ``path``.safetensors (weights + config) and, if given, ``path``.json (the card)."""
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(config_mod.to_dict(model.config)), "format": "diffusion_course/1"}
    tmp = path.with_suffix(".tmp")
    save_file(state, tmp, metadata=meta)
    tmp.replace(path)  # never leave a half-written file under the real name
    if card is not None:
        path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild a model from a .safetensors file written by ``save_model``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e}); "
                              "delete it and re-create it with the command in its card") from e
    if "config" not in meta:
        raise CheckpointError(f"{path} has no model config in its metadata; was it written by save_model?")
    model = build(config_mod.from_dict(json.loads(meta["config"])))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit its own config: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.to(device).eval()


def card(name: str) -> dict:
    """The JSON card of a shipped model."""
    path = shipped.DATA_DIR / f"{name}.json"
    if not path.exists():
        raise CheckpointError(f"no card {path}")
    return json.loads(path.read_text())


def lineage(name: str) -> list[dict]:
    """The cards of a shipped model and of every model it was trained from (each card's ``init_from``), the first
    ancestor first: ``[c["name"] for c in lineage("unet-words")]`` -> unet-scenes-w1, unet-words-20k, unet-words-100k,
    unet-words."""
    cards = [card(name)]
    while up := cards[0].get("train_config", {}).get("init_from", ""):
        if any(c["name"] == up for c in cards):
            raise CheckpointError(f"the cards of {name} go round in a circle at {up}: fix its init_from")
        cards.insert(0, card(up))
    return cards


def load_pretrained(name: str, device: str | torch.device | None = None):
    """A shipped model from ``data/`` by name, e.g. ``load_pretrained("unet-scenes")``."""
    path = shipped.DATA_DIR / f"{name}.safetensors"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in shipped.DATA_DIR.glob("*.safetensors"))) or "none"
        into = f"--out {path.with_suffix('')} --force"  # (--force: its card or grid may still be there)
        remake = (f"To make it yourself: python -m diffusion_course train --preset {name} {into}"
                  if name in config_mod.PRESETS else
                  f"To make the judge: python -m diffusion_course judge {into}" if name == "judge" else
                  "Pass one of the shipped names, or a path to a .safetensors file")
        raise CheckpointError(f"no pretrained model {name!r}: {path} is missing. Shipped models: {known}. {remake}")
    return load_model(path, device or default_device())


def default_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autoencoder_of(denoiser_config, device=None) -> Autoencoder:
    """The shipped autoencoder a latent denoiser's config names, with a clear error when it is missing."""
    name = getattr(denoiser_config, "autoencoder", "")
    if not name:
        raise ValueError("this denoiser draws pixels, not latents (its config names no autoencoder); "
                         "sample it with samplers.sample")
    path = shipped.DATA_DIR / f"{name}.safetensors"
    if not path.exists():
        raise CheckpointError(
            f"this latent model paints through the autoencoder {name!r}, but {path} is missing; make it with: "
            f"python -m diffusion_course autoencoder --preset {name} --out {path.with_suffix('')} --force")
    return load_model(path, device or default_device())
