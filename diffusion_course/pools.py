"""Pools of training images, held in memory as uint8 (4x smaller than float): the scenes the course draws
(``scenes.ScenePool``), or a folder of your own pictures (``FolderPool``).

    pool = FolderPool("class-drawings/", size=64)   # PNG and JPEG files, found recursively
    x0 = pool.sample(16)                              # (16, 3, 64, 64) in [-1, 1], randomly flipped

Each picture is resized so that its shorter side fits, then centre-cropped to ``size`` x ``size``
(``PIL.ImageOps.fit``): nothing is stretched. Files that cannot be read are skipped and counted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from .images import dequantize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImagePool(torch.utils.data.Dataset):
    """A fixed pool of images (N, 3, H, W) stored as uint8; indexing gives floats in [-1, 1]."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return dequantize(self.images[i])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A random minibatch (n, 3, H, W) in [-1, 1], with random horizontal flips."""
        idx = torch.randint(len(self.images), (n,), generator=generator)
        x = dequantize(self.images[idx])
        return mirrored(x, torch.rand(n, generator=generator) < 0.5)

    def sample_pictured(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``sample``'s minibatch and the pictures it shows: for a pool of pictures, the same tensor twice."""
        x = self.sample(n, generator)
        return x, x


def mirrored(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Pictures (n, C, H, W) with those where ``flip`` (n,) is True mirrored left to right."""
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def image_files(folder: Path) -> list[Path]:
    """The PNG and JPEG files under ``folder`` (recursively, hidden ones left out), in a fixed order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_image(path: Path, size: int) -> np.ndarray:
    """One picture as (size, size, 3) uint8 RGB: shorter side resized to ``size``, then centre-cropped."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")  # (a phone photo's orientation is in its EXIF)
        return np.asarray(ImageOps.fit(im, (size, size), Image.Resampling.LANCZOS))


class FolderPool(ImagePool):
    """Every PNG and JPEG picture under ``folder``, at ``size`` x ``size``. ``skipped`` lists the files that
    could not be read."""

    def __init__(self, folder: str | Path, size: int = 32, progress: bool = False):
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"no folder {folder}: pass --data a folder of PNG or JPEG pictures")
        files = image_files(folder)
        if not files:
            raise ValueError(f"{folder} holds no PNG or JPEG pictures (looked in every subfolder); "
                             "put the pictures to train on there")
        pictures, self.skipped = [], []
        for path in tqdm(files, desc="reading pictures", disable=not progress):
            try:
                pictures.append(read_image(path, size))
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                self.skipped.append(path)
        if not pictures:
            raise ValueError(f"none of the {len(files)} picture files in {folder} could be read "
                             f"(e.g. {files[0].name}); are they really PNG or JPEG?")
        self.folder = folder
        super().__init__(torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).contiguous())

    def describe(self) -> str:
        """One line for the log: how many pictures were read, and which could not be."""
        line = f"read {len(self)} pictures from {self.folder}"
        if self.skipped:
            names = ", ".join(p.name for p in self.skipped[:3]) + (", ..." if len(self.skipped) > 3 else "")
            line += f"; skipped {len(self.skipped)} that could not be read ({names})"
        return line


class LatentPool:
    """A pool of scenes encoded once into scaled latents, and their mirror images (a flipped latent is
    not the latent of the flipped scene, so both are encoded). ``sample`` gives latent minibatches;
    ``sample_pictured`` the same, with the pictures they encode (kept as uint8 beside the latents)."""

    def __init__(self, pool: ImagePool, ae, batch: int = 500, progress: bool = False):
        device = next(ae.parameters()).device
        chunks = []
        with torch.no_grad():
            for start in tqdm(range(0, len(pool), batch), desc="encoding scenes into the sketchbook",
                              disable=not progress):
                x = pool[torch.arange(start, min(start + batch, len(pool)))].to(device)
                chunks.append(torch.stack([ae.encode(x), ae.encode(x.flip(-1))], dim=1).cpu())  # (b, 2, C, h, w)
        self.latents = torch.cat(chunks)  # (N, 2, C, h, w): each scene, then its mirror image
        self.images = pool.images  # (N, 3, H, W) uint8: the pictures encoded, for what reads pixels (``alignment``)
        self.labels = getattr(pool, "labels", [])

    def __len__(self) -> int:
        return len(self.latents)

    def __getitem__(self, i):
        """The latents of scenes ``i`` (not mirrored)."""
        return self.latents[i, 0]

    def draw(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A random minibatch's scenes (n,) and whether each is mirrored (n,): what ``sample`` and
        ``sample_pictured`` draw from the generator, alike."""
        return torch.randint(len(self.latents), (n,), generator=generator), torch.rand(n, generator=generator) < 0.5

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A random minibatch of latents (n, C, h, w), each of a scene or of its mirror image."""
        idx, flip = self.draw(n, generator)
        return self.latents[idx, flip.long()]

    def sample_pictured(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``sample``'s minibatch (the same draws) and the pictures its latents encode (n, 3, H, W) in [-1, 1],
        mirrored where the latent is the mirror image's."""
        idx, flip = self.draw(n, generator)
        return self.latents[idx, flip.long()], mirrored(dequantize(self.images[idx]), flip)
