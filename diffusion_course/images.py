"""Pixels: the one home for turning tensors into pictures.

The models work on images in [-1, 1] (B, C, H, W); storage (scene pools) uses uint8, and
display uses uint8 RGB arrays (H, W, C) and PNG bytes. Every conversion between them is
here, so there is exactly one rounding rule:

    u8 = round((x + 1) * 127.5),    x = u8 / 127.5 - 1

A single-channel map (h, w) — a feature map's activity, an attention map, a gradient — is
shown as a heatmap scaled to its own range. ``blur`` is the one Gaussian blur (the judge's
negatives, the tiny CLIP's dusty drawings). Nothing here imports ipywidgets or pyplot;
``plotting`` and ``widgets`` build on it.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from PIL import Image


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 tensors in 0..255 of the same shape (values outside are clamped)."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def dequantize(u8: torch.Tensor) -> torch.Tensor:
    """uint8 tensors in 0..255 -> float images in [-1, 1] of the same shape."""
    return u8.float() / 127.5 - 1


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] (B, C, H, W) or (C, H, W) -> uint8 arrays (B, H, W, C) / (H, W, C), for display."""
    return quantize(x).movedim(-3, -1).numpy()


def heatmap(m: torch.Tensor, cmap: str = "magma") -> np.ndarray:
    """A single map (h, w) -> uint8 RGB (h, w, 3), coloured over its own min..max."""
    f = m.detach().float().cpu()
    f = (f - f.min()) / (f.max() - f.min() + 1e-8)
    return (colormaps[cmap](f.numpy())[..., :3] * 255).astype(np.uint8)


def to_rgb(frame: torch.Tensor) -> np.ndarray:
    """What to show for a frame: an image (3, H, W) in [-1, 1] as RGB; a map (h, w) as a heatmap."""
    return heatmap(frame) if frame.ndim == 2 else to_uint8(frame)


def enlarge(arr: np.ndarray, scale: int) -> Image.Image:
    """A uint8 RGB array as a PIL image enlarged ``scale`` x with crisp (nearest) pixels."""
    im = Image.fromarray(arr)
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale != 1 else im


def png(img: torch.Tensor | np.ndarray, scale: int = 6) -> bytes:
    """PNG bytes of a frame (see ``to_rgb``) or of a uint8 RGB array, enlarged ``scale`` x."""
    arr = to_rgb(img) if isinstance(img, torch.Tensor) else img
    buf = io.BytesIO()
    enlarge(arr, scale).save(buf, format="png")
    return buf.getvalue()


def grid(x: torch.Tensor, nrow: int | None = None, pad: int = 1, pad_value: int = 110) -> np.ndarray:
    """Tile a batch (B, C, H, W) in [-1, 1] into one uint8 image (rows of ``nrow``)."""
    imgs = to_uint8(x)
    B, H, W, C = imgs.shape
    nrow = nrow or int(np.ceil(np.sqrt(B)))
    rows = int(np.ceil(B / nrow))
    out = np.full((rows * (H + pad) + pad, nrow * (W + pad) + pad, C), pad_value, np.uint8)
    for i, img in enumerate(imgs):
        r, c = divmod(i, nrow)
        out[pad + r * (H + pad): pad + r * (H + pad) + H, pad + c * (W + pad): pad + c * (W + pad) + W] = img
    return out


def tile(frame: torch.Tensor, size: int, border: int = 1) -> np.ndarray:
    """A frame (image or map, see ``to_rgb``) as a (size, size, 3) uint8 tile with a white border."""
    arr = np.asarray(Image.fromarray(to_rgb(frame)).resize((size, size), Image.NEAREST))
    return np.pad(arr, ((border, border), (border, border), (0, 0)), constant_values=255)


def save_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 4) -> Path:
    """Save a batch as a PNG grid, enlarged ``scale`` times with crisp pixels."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    enlarge(grid(x, nrow), scale).save(path)
    return path


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of images (B, C, H, W) with std ``sigma`` pixels (separable, reflected edges)."""
    k = int(2 * math.ceil(2 * sigma) + 1)
    r = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).to(x)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (k // 2,) * 4, mode="reflect"), g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
