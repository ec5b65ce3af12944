"""How the scene judge is trained: what is *not* a scene, the training loop, and its validation.

The judge (``models/judge.py``) learns the scene labels (is there a pup / rocket / moon, the
rocket's colour, the moon's phase) from real scenes, and realism from a balanced stream of
non-scenes: noise, dusty scenes, blur, blocky mosaics, colour smears, shuffled tiles, and the
samples of a denoiser trained only briefly. A presence classifier alone is easily fooled by
blobs of the right colour; the realism head is what makes "recognisable" mean something.
It is validated on corruptions it never saw (``HELD_OUT_CORRUPTIONS``) and on an undertrained
model it never saw.

    judge, losses = train_judge(JudgeTrainConfig())
    report, images, flags = validate_judge(judge)
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from einops import rearrange
from tqdm.auto import tqdm

from .. import scenes
from ..config import JudgeConfig, JudgeTrainConfig
from ..diffusion.samplers import sample_many
from ..diffusion.training import Trainer
from ..images import blur, dequantize
from ..models import build
from ..precision import resolve_precision
from .metrics import HELD_OUT_SEED, label_accuracy, label_targets, recognisable, reference_scenes

JUDGE_SEED = 100  # the judge's real scenes: seeds far from the denoisers' training seeds (0)
# seed offsets, so that each source of randomness in training and validation is its own
UNDERTRAINED_SEED_OFFSET = 1  # the training negatives' denoiser
VALIDATION_SEED_OFFSET = 7  # the corruptions drawn for validation
UNSEEN_MODEL_SEED_OFFSET = 99  # validation's undertrained unet-small, never seen in training
UNSEEN_MODEL_STEPS = 200  # its training: longer than the negatives' denoiser had (120 steps), a harder test
VALIDATION_PER_SET = 256  # images per kind of non-scene in validation
SHOWN_PER_SET = 16  # of which the first few go into the grids of accepted / rejected images


# ----------------------------------------------------------------------------- what is not a scene

def corrupt(x: torch.Tensor, kind: str, g: torch.Generator) -> torch.Tensor:
    """Turn clean scenes (B, 3, H, W) in [-1, 1] into images that are *not* clean scenes."""
    B, C, H, W = x.shape

    def u(*s):
        return torch.rand(*s, generator=g)

    if kind == "noise":  # pure noise, at several strengths and colour biases
        return (torch.randn(x.shape, generator=g) * u(B, 1, 1, 1) + (u(B, C, 1, 1) - 0.5)).clamp(-1, 1)
    if kind == "noisy_scene":  # a scene under heavy dust
        return (x + torch.randn(x.shape, generator=g) * (0.35 + 0.6 * u(B, 1, 1, 1))).clamp(-1, 1)
    if kind == "blur":
        return torch.stack([blur(xi[None], 1.0 + 1.5 * float(u(1)))[0] for xi in x])
    if kind == "mosaic":  # blocky patches, as an undertrained patch model draws
        p = [4, 8][int(u(1) < 0.5)]
        small = F.avg_pool2d(x, p)
        small = small + 0.3 * torch.randn(small.shape, generator=g)
        return F.interpolate(small, scale_factor=p, mode="nearest").clamp(-1, 1)
    if kind.startswith("blocks") or kind.startswith("seams"):  # clean, sharp patch mosaics (2, 4 or 8 px)
        p = int(kind[-1]) if kind[-1].isdigit() else [2, 4, 8][int(u(1) * 3)]
        if kind.startswith("blocks"):  # each patch one flat colour: the picture, pixelated
            return F.interpolate(F.avg_pool2d(x, p), scale_factor=p, mode="nearest")
        # each patch drawn sharp but shifted in colour: seams, as an undertrained patch model leaves
        shift = torch.randn(B, C, H // p, W // p, generator=g) * (0.1 + 0.25 * u(B, 1, 1, 1))
        return (x + F.interpolate(shift, scale_factor=p, mode="nearest")).clamp(-1, 1)
    if kind in ("warp", "stretch"):  # elastic warps; stretched objects
        base = F.affine_grid(torch.eye(2, 3).expand(B, 2, 3), (B, C, H, W), align_corners=False)
        if kind == "warp":
            amp = (1.0 + 1.5 * u(B, 1, 1, 1)) * 2 / H  # 1 to 2.5 px
            field = F.interpolate(torch.randn(B, 2, 4, 4, generator=g), size=(H, W), mode="bicubic")
            grid = base + amp * field.permute(0, 2, 3, 1)
        else:
            k = 1 / (1.3 + 0.4 * u(B))  # stretched 1.3 to 1.7 x along one axis about a random centre
            along_x = u(B) < 0.5
            scale = torch.stack([torch.where(along_x, k, 1 / k.sqrt()), torch.where(along_x, 1 / k.sqrt(), k)], 1)
            centre = (u(B, 2) - 0.5) * 1.0
            grid = (base - centre[:, None, None]) * scale[:, None, None] + centre[:, None, None]
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if kind in ("duplicate", "half", "blobs"):  # broken or duplicated parts, stray blobs, half-drawn objects
        out = x.clone()
        sky = x.median(dim=3, keepdim=True).values.expand(B, C, H, W)  # each row's median: roughly the sky
        yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        for b in range(B):
            h, w = (int(6 + 7 * u(1)) for _ in range(2))
            y0, x0, y1, x1 = (int(u(1) * (H - h)), int(u(1) * (W - w)), int(u(1) * (H - h)), int(u(1) * (W - w)))
            if kind in ("duplicate", "half"):  # about the place where the image differs most from the sky
                d = (x[b] - sky[b]).abs().amax(0)
                cy, cx = divmod(int(F.avg_pool2d(d[None, None], 7, 1, 3).argmax()), W)
                y0, x0 = min(max(0, cy - h // 2 + int(4 * u(1)) - 2), H - h), min(max(0, cx - int(w * u(1))), W - w)
            if kind == "duplicate":
                out[b, :, y1:y1 + h, x1:x1 + w] = x[b, :, y0:y0 + h, x0:x0 + w]
            elif kind == "half":  # erase part of an object
                out[b, :, y0:y0 + h, x0:x0 + w] = sky[b, :, y0:y0 + h, x0:x0 + w]
            else:
                for _ in range(1 + int(3 * u(1))):
                    cy, cx, ry, rx = H * u(1), W * u(1), 1.5 + 3 * u(1), 1.5 + 3 * u(1)
                    m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
                    out[b][:, m] = (_PALETTE[int(u(1) * len(_PALETTE))] * 2 - 1)[:, None]
        return out

    if kind == "smear":  # low-frequency colour fields
        field = torch.randn(B, C, 4, 4, generator=g) * 0.6 - 0.3
        smooth = F.interpolate(field, size=(H, W), mode="bilinear", align_corners=False)
        return (smooth + 0.5 * x * u(B, 1, 1, 1)).clamp(-1, 1)
    if kind in ("shuffle", "shuffle4"):  # the pieces are right, the picture is not
        p = 8 if kind == "shuffle" else 4
        tiles = rearrange(x, "b c (h p1) (w p2) -> b (h w) c p1 p2", p1=p, p2=p)
        perm = torch.stack([torch.randperm(tiles.shape[1], generator=g) for _ in range(B)])
        tiles = tiles[torch.arange(B)[:, None], perm]
        return rearrange(tiles, "b (h w) c p1 p2 -> b c (h p1) (w p2)", h=H // p)
    if kind == "ghost":  # two scenes overlaid
        return 0.5 * x + 0.5 * x.roll(1, dims=0)
    if kind == "posterize":  # colours crushed to a few levels, with speckle
        return ((x + 0.2 * torch.randn(x.shape, generator=g)) * 1.5).round().clamp(-1, 1)
    raise ValueError(f"unknown corruption {kind!r}; known: {TRAIN_CORRUPTIONS + HELD_OUT_CORRUPTIONS}")


_PALETTE = torch.tensor([scenes.PUP_BLUE, scenes.MOON, scenes.WINDOW, *scenes.ROCKET_COLOURS.values(), *scenes.FLAME])
TRAIN_CORRUPTIONS = ("noise", "noisy_scene", "blur", "mosaic", "smear", "shuffle", "blocks", "seams", "warp",
                     "stretch", "duplicate", "half", "blobs")
# the patch mosaics, reported per patch size (an undertrained DiT draws them at its patch size)
MOSAICS = ("blocks2", "blocks4", "blocks8", "seams2", "seams4", "seams8")
# never shown to the judge in training: a finer shuffle, two overlaid scenes, crushed colours
HELD_OUT_CORRUPTIONS = ("shuffle4", "ghost", "posterize")


def undertrained_samples(n: int, steps: int, seed: int, preset: str = "unet-tiny",
                         cfg: JudgeTrainConfig = JudgeTrainConfig()) -> torch.Tensor:
    """Samples of a denoiser trained for only ``steps`` steps (``cfg.undertrained``'s recipe): blob-like
    near-scenes."""
    recipe = dataclasses.replace(cfg.undertrained, steps=steps, seed=seed)
    tr = Trainer(preset, recipe, progress=False).run()
    return sample_many(tr.ema, n, steps=cfg.undertrained_sampling_steps, seed=seed)


# ----------------------------------------------------------------------------- training

def _cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the targets that are there (-100: nothing to read), 0 when none is."""
    return F.cross_entropy(logits, target, ignore_index=-100, reduction="sum") / (target >= 0).sum().clamp(min=1)


def train_judge(cfg: JudgeTrainConfig = JudgeTrainConfig(), progress: bool = True):
    """Train the judge on labelled real scenes and on non-scenes (TRAIN_CORRUPTIONS and the samples
    of an undertrained denoiser). Returns the judge (eval mode) and its loss history."""
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    real = scenes.ScenePool(cfg.pool_size, seed=JUDGE_SEED, progress=progress)
    targets = label_targets(real.labels)
    bad_samples = undertrained_samples(cfg.undertrained_images, cfg.undertrained_steps,
                                       seed=cfg.seed + UNDERTRAINED_SEED_OFFSET, cfg=cfg)
    judge = build(JudgeConfig())
    autocast = resolve_precision(cfg.precision, torch.device("cpu"))
    opt = torch.optim.AdamW(judge.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps,
                                                pct_start=cfg.warmup_fraction)
    losses, batch, half = [], cfg.batch_size, cfg.batch_size // 2
    for _ in tqdm(range(cfg.steps), desc="training the judge", disable=not progress):
        idx = torch.randint(len(real), (batch,), generator=g)
        x = dequantize(real.images[idx])
        kinds = torch.randint(len(TRAIN_CORRUPTIONS) + 1, (half,), generator=g)  # the last kind: bad samples
        fakes = x[half:].clone()
        for k in range(len(TRAIN_CORRUPTIONS)):
            m = kinds == k
            if m.any():
                fakes[m] = corrupt(x[half:][m], TRAIN_CORRUPTIONS[k], g)
        m = kinds == len(TRAIN_CORRUPTIONS)
        fakes[m] = bad_samples[torch.randint(len(bad_samples), (int(m.sum()),), generator=g)]
        with torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            out = judge(torch.cat([x[:half], fakes]))
        out = {k: v[:half].float() if k != "real" else v.float() for k, v in out.items()}
        t = {k: v[idx[:half]] for k, v in targets.items()}
        is_real = torch.cat([torch.ones(half), torch.zeros(batch - half)])
        rel_mask = t["relations_mask"]
        loss = (F.binary_cross_entropy_with_logits(out["presence"], t["presence"])
                + _cross_entropy(out["colour"], t["colour"]) + _cross_entropy(out["phase"], t["phase"])
                + (F.binary_cross_entropy_with_logits(out["relations"], t["relations"], reduction="none")
                   * rel_mask).sum() / rel_mask.sum().clamp(min=1)
                + cfg.geometry_weight * ((out["geometry"] - t["geometry"]).square() * t["geometry_mask"]).sum()
                / t["geometry_mask"].sum().clamp(min=1)
                + F.binary_cross_entropy_with_logits(out["real"][:, 0], is_real))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return judge.eval(), losses


# ----------------------------------------------------------------------------- validation

def validate_judge(judge, n: int = 2000, seed: int = 0) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Held-out accuracy, and recognisable rates on real scenes and on every kind of non-scene,
    including corruptions and an undertrained model the judge never saw in training.
    Returns (report, mixed images, their recognisable flags)."""
    g = torch.Generator().manual_seed(seed + VALIDATION_SEED_OFFSET)
    x, labels = reference_scenes(n)
    report = {"label_accuracy": label_accuracy(judge, x, labels), "recognisable_rate": {}}
    k = min(n, VALIDATION_PER_SET)
    sets = {"real (held out)": x, "real, scene world 1 (held out)": scenes.batch(k, seed=HELD_OUT_SEED, world=1)[0]}
    sets |= {f"{c} (trained on)": corrupt(x[:k], c, g) for c in TRAIN_CORRUPTIONS}
    sets |= {f"{c} (patch mosaic)": corrupt(x[:k], c, g) for c in MOSAICS}
    sets |= {f"{c} (never seen)": corrupt(x[:k], c, g) for c in HELD_OUT_CORRUPTIONS}
    sets["undertrained unet-small (never seen)"] = undertrained_samples(
        k, UNSEEN_MODEL_STEPS, seed=seed + UNSEEN_MODEL_SEED_OFFSET, preset="unet-small")
    flags = {}
    for name, imgs in sets.items():
        flags[name] = recognisable(judge, imgs)
        report["recognisable_rate"][name] = flags[name].float().mean().item()
    mixed = torch.cat([v[:SHOWN_PER_SET] for v in sets.values()])
    return report, mixed, torch.cat([f[:SHOWN_PER_SET] for f in flags.values()])
