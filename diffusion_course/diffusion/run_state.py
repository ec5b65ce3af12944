"""A training run's state on disk, so that a run stopped at any step resumes exactly where it was.

``run_dir/state.safetensors`` holds every network's weights under its prefix (``model.``, and a denoiser's EMA
``ema.``), every optimiser's moments (``opt.``; the GAN's two, ``opt_g.`` and ``opt_d.``) and the training
generator's state (``rng``); its metadata holds the step reached, the training seconds, the model config, the
training settings and the run's logs (losses, the probe's curve, ...), each as JSON. It is written atomically: an
interrupted write never leaves half a state under the real name. Nothing is pickled.

A run resumes only with the model config and the settings it was started with, but for those that say how far it
goes and how often it saves (``RESUMABLE``); a setting added to the code after the state was saved reads as its
default (new settings default to the old behaviour). The denoisers' ``Trainer``, the autoencoder's and the tiny
GAN's trainers all keep their runs here.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from .. import config
from ..shipped import CheckpointError

STATE = "state.safetensors"
RESUMABLE = ("steps", "checkpoint_every")  # what a resumed run may change: how far it goes, how often it saves


def exists(run_dir: Path | None) -> bool:
    """Whether ``run_dir`` (``None``: a run without a folder) holds a state to resume from."""
    return run_dir is not None and (run_dir / STATE).exists()


def save(run_dir: Path, step: int, elapsed: float, model_config, train_config, nets: dict[str, torch.nn.Module],
         optimizers: dict[str, torch.optim.Optimizer], generator: torch.Generator, **logs) -> None:
    """Write a run's state: each of ``nets`` and ``optimizers`` under its prefix, the generator, and in the metadata
    the step, the training seconds, both configs and ``logs`` (each as JSON)."""
    tensors = {f"{prefix}.{k}": v.contiguous() for prefix, net in nets.items() for k, v in net.state_dict().items()}
    for prefix, opt in optimizers.items():
        tensors |= optimizer_tensors(opt, prefix)
    tensors["rng"] = generator.get_state()
    meta = {"step": str(step), "elapsed": str(elapsed), "model_config": json.dumps(config.to_dict(model_config)),
            "train_config": json.dumps(dataclasses.asdict(train_config)), **{k: json.dumps(v) for k, v in logs.items()}}
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "state.tmp"
    save_file({k: v.cpu() for k, v in tensors.items()}, tmp, metadata=meta)
    tmp.replace(run_dir / STATE)


def load(run_dir: Path, model_config, train_config, nets: dict[str, torch.nn.Module],
         optimizers: dict[str, torch.optim.Optimizer], generator: torch.Generator, device,
         resumable: tuple[str, ...] = RESUMABLE) -> dict:
    """Put a run's saved state back into ``nets``, ``optimizers`` and ``generator`` (the prefixes ``save`` was
    given), once it is known to have been trained with this model config and these settings, all but
    ``resumable``; a ``CheckpointError`` saying what to do if not. Returns the metadata, decoded: ``step``,
    ``elapsed``, ``model_config`` and ``train_config`` (as dicts) and each log."""
    path = run_dir / STATE
    with safe_open(path, "pt") as f:
        meta = {k: json.loads(v) for k, v in f.metadata().items()}
    if config.from_dict(meta["model_config"]) != model_config:
        raise CheckpointError(f"{path} was trained with another model config; use a new --out folder or delete {path}")
    ours = json.loads(json.dumps(dataclasses.asdict(train_config)))
    added = {f.name: f.default for f in dataclasses.fields(train_config) if f.default is not dataclasses.MISSING}
    saved = json.loads(json.dumps(added)) | meta["train_config"]
    changed = {k for k in set(saved) | set(ours) if k not in resumable and saved.get(k) != ours.get(k)}
    if changed:
        raise CheckpointError(f"{path} was trained with other settings ({', '.join(sorted(changed))}); resume with "
                              "the same settings or use a new --out folder")
    state = load_file(path)
    for prefix, net in nets.items():
        net.load_state_dict({k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")})
    for prefix, opt in optimizers.items():
        load_optimizer(opt, state, device, prefix)
    generator.set_state(state["rng"])
    return meta | {"step": int(meta["step"]), "elapsed": float(meta["elapsed"])}


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str = "opt") -> dict[str, torch.Tensor]:
    """An optimiser's moments as flat tensors ``{prefix}.{param}.{name}``."""
    return {f"{prefix}.{i}.{k}": torch.as_tensor(v).contiguous()
            for i, s in opt.state_dict()["state"].items() for k, v in s.items()}


def load_optimizer(opt: torch.optim.Optimizer, state: dict[str, torch.Tensor], device, prefix: str = "opt") -> None:
    """Put back the moments ``optimizer_tensors`` stored (``step`` counters stay on the CPU, as torch keeps them)."""
    opt_state = opt.state_dict()
    for key, v in state.items():
        if key.startswith(prefix + "."):
            _, i, name = key.split(".", 2)
            opt_state["state"].setdefault(int(i), {})[name] = v.to(device) if name != "step" else v
    opt.load_state_dict(opt_state)
