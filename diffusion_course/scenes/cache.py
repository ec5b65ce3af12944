"""Scene pools kept on disk: drawing 20,000 scenes takes seconds, reading them back a fraction of one.

A pool is one safetensors file: ``images`` (N, 3, H, W) uint8, ``labels`` (the ``SceneLabels`` as UTF-8 JSON, one
row of values per scene, a uint8 tensor) and, in the metadata, the file's key, the labels' field names and a
CRC-32 of both tensors. The key, which is also the file's name, holds everything a pool depends on: ``DRAWING``
(the version of drawing and label sampling), the scene world, the size, the seed and n. A file is written
atomically (a temporary file, then a rename); one that cannot be read, or does not hold exactly what its name
promises, is never used: the pool is drawn again and rewritten. A cache that cannot be written only warns.

Where: ``$DIFFUSION_COURSE_CACHE/pools``, by default ``~/.cache/diffusion_course/pools`` (``$XDG_CACHE_HOME``
if set); ``DIFFUSION_COURSE_CACHE=off`` turns the cache off. Pools under ``SMALLEST`` scenes are not kept.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import warnings
import zlib
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .labels import SceneLabels

# Bump whenever drawing (drawing.py), label sampling (labels.py) or the uint8 rounding (images.quantize) changes
# what a seed gives: every pool kept under the old number is then left unread.
DRAWING = 1
SMALLEST = 1024  # smaller pools draw in well under a second: not worth a file
ENV = "DIFFUSION_COURSE_CACHE"
OFF = ("off", "0", "false", "no", "none")
FIELDS = [f.name for f in dataclasses.fields(SceneLabels)]


def folder() -> Path | None:
    """Where pools are kept, or None when the cache is off."""
    root = os.environ.get(ENV, "")
    if root.strip().lower() in OFF:
        return None
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "diffusion_course"
    return Path(root).expanduser() / "pools"


def key(n: int, seed: int, size: int, world: int) -> str:
    return f"scenes-v{DRAWING}-world{world}-{size}px-seed{seed}-n{n}"


def path(n: int, seed: int, size: int, world: int) -> Path | None:
    """The file that keeps this pool, or None where it is not kept (cache off, or a small pool)."""
    where = folder()
    return None if where is None or n < SMALLEST else where / f"{key(n, seed, size, world)}.safetensors"


def load(n: int, seed: int, size: int, world: int) -> tuple[torch.Tensor, list[SceneLabels]] | None:
    """The kept pool: (images (n, 3, size, size) uint8, labels), or None when there is none to trust."""
    file = path(n, seed, size, world)
    if file is None or not file.is_file():
        return None
    try:
        with safe_open(file, framework="pt") as f:
            meta, images, text = f.metadata() or {}, f.get_tensor("images"), f.get_tensor("labels")
        if meta.get("key") != key(n, seed, size, world) or meta.get("fields") != ",".join(FIELDS):
            raise ValueError(f"it holds {meta.get('key')!r} with labels {meta.get('fields')!r}")
        if images.dtype != torch.uint8 or images.shape != (n, 3, size, size) or text.dtype != torch.uint8:
            raise ValueError(f"it holds {images.dtype} images of shape {tuple(images.shape)}")
        if meta.get("crc32") != _crc(images, text):
            raise ValueError("its checksum does not match")
        labels = [_labels(row) for row in json.loads(bytes(text.numpy()))]
        if len(labels) != n or any(lab.size != size or lab.world != world for lab in labels):
            raise ValueError("its labels are not those of this pool")
    except Exception as e:  # whatever is wrong with the file, the pool is drawn again
        warnings.warn(f"not using the kept scene pool {file} ({type(e).__name__}: {e}); drawing it again",
                      stacklevel=3)
        return None
    return images, labels


def save(images: torch.Tensor, labels: list[SceneLabels], seed: int, size: int, world: int) -> None:
    """Keep a pool for next time (atomically); a folder that cannot be written (or a full disk) only warns."""
    file = path(len(images), seed, size, world)
    if file is None:
        return
    rows = [[getattr(lab, name) for name in FIELDS] for lab in labels]
    text = torch.frombuffer(bytearray(json.dumps(rows).encode()), dtype=torch.uint8)
    meta = {"key": key(len(images), seed, size, world), "fields": ",".join(FIELDS), "crc32": _crc(images, text)}
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        save_file({"images": images.contiguous(), "labels": text}, tmp, metadata=meta)
        tmp.replace(file)
    except (OSError, SafetensorError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        warnings.warn(f"could not keep the scene pool in {file.parent} ({e}); it will be drawn again next time "
                      f"(set {ENV} to another folder, or to 'off')", stacklevel=3)


def _crc(images: torch.Tensor, text: torch.Tensor) -> str:
    return str(zlib.crc32(text.numpy(), zlib.crc32(images.contiguous().numpy())))


def _labels(row: list) -> SceneLabels:
    """A ``SceneLabels`` from its JSON row of ``FIELDS`` (lists back to tuples)."""
    d = dict(zip(FIELDS, row, strict=True))
    objects = {k: None if d[k] is None else tuple(d[k]) for k in ("pup", "rocket", "moon")}
    return SceneLabels(**(d | objects | {"stars": tuple(map(tuple, d["stars"]))}))
