"""Measuring quality honestly: a scene judge and the metrics built on it.

Our scenes are procedural, so we know the truth. The **scene judge** is a small CNN
trained on scene labels (is there a pup / rocket / moon, the rocket's colour, the moon's
phase) *and* on realism: it learns to reject images that are not clean scenes (noise,
blur, blocky mosaics, colour smears, samples of an undertrained model). A presence
classifier alone is easily fooled by blobs of the right colour; the realism head is
what makes "recognisable" mean something. It is validated on corruptions it never saw.

Metrics (each says what it means and when it misleads):
    recognisable_rate   share of images the judge calls real *and* reads confidently
    frechet_distance    FID analogue in the judge's feature space
    coverage            how judged contents are distributed, vs real scenes
    diversity           mean pairwise distance in judge features; flags collapse
    memorisation        nearest-neighbour distance to the training set vs a real baseline
    caption_agreement   does the judge see what each caption asked for
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from . import scenes

from .models.judge import COLOURS, PHASES, Judge  # noqa: F401  (re-exported)


# ----------------------------------------------------------------------------- what is not a scene

def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    k = int(2 * math.ceil(2 * sigma) + 1)
    r = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).to(x)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (k // 2,) * 4, mode="reflect"), g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def corrupt(x: torch.Tensor, kind: str, g: torch.Generator) -> torch.Tensor:
    """Turn clean scenes (B, 3, H, W) in [-1, 1] into images that are *not* clean scenes."""
    B, C, H, W = x.shape
    u = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    if kind == "noise":  # pure noise, at several strengths and colour biases
        return (torch.randn(x.shape, generator=g) * u(B, 1, 1, 1) + (u(B, C, 1, 1) - 0.5)).clamp(-1, 1)
    if kind == "noisy_scene":  # a scene under heavy dust
        return (x + torch.randn(x.shape, generator=g) * (0.35 + 0.6 * u(B, 1, 1, 1))).clamp(-1, 1)
    if kind == "blur":
        return torch.stack([_blur(xi[None], 1.0 + 1.5 * float(u(1)))[0] for xi in x])
    if kind == "mosaic":  # blocky patches, as an undertrained patch model draws
        p = [4, 8][int(u(1) < 0.5)]
        small = F.avg_pool2d(x, p)
        small = small + 0.3 * torch.randn(small.shape, generator=g)
        return F.interpolate(small, scale_factor=p, mode="nearest").clamp(-1, 1)
    if kind == "smear":  # low-frequency colour fields
        field = torch.randn(B, C, 4, 4, generator=g) * 0.6 - 0.3
        return (F.interpolate(field, size=(H, W), mode="bilinear", align_corners=False) + 0.5 * x * u(B, 1, 1, 1)).clamp(-1, 1)
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


TRAIN_CORRUPTIONS = ("noise", "noisy_scene", "blur", "mosaic", "smear", "shuffle")
# never shown to the judge in training: a finer shuffle, two overlaid scenes, crushed colours
HELD_OUT_CORRUPTIONS = ("shuffle4", "ghost", "posterize")


def label_targets(labels: list[scenes.SceneLabels]) -> dict[str, torch.Tensor]:
    presence = torch.from_numpy(np.stack([l.vector() for l in labels]))
    colour = torch.tensor([COLOURS.index(l.rocket_colour) if l.rocket else -100 for l in labels])
    phase = torch.tensor([PHASES.index(l.moon_phase) if l.moon else -100 for l in labels])
    return {"presence": presence, "colour": colour, "phase": phase}


# ----------------------------------------------------------------------------- training the judge

JUDGE_SEED = 100  # scenes for the judge: seeds far from the denoisers' training seeds (0)
HELD_OUT_SEED = 200  # held-out real scenes for validation and as the metrics' reference


def undertrained_samples(n: int, steps: int, seed: int, preset: str = "unet-tiny") -> torch.Tensor:
    """Samples of a denoiser trained for only ``steps`` steps: blob-like near-scenes."""
    from .config import TrainConfig
    from .samplers import sample_many
    from .training import Trainer

    tr = Trainer(preset, TrainConfig(steps=steps, batch_size=32, pool_size=1024, warmup=20, lr=3e-3, seed=seed),
                 progress=False).run()
    return sample_many(tr.ema, n, steps=20, seed=seed)


def train_judge(steps: int = 2500, batch: int = 128, seed: int = 0, pool: int = 8000, progress: bool = True):
    """Train the judge on labelled real scenes and on non-scenes (TRAIN_CORRUPTIONS and the samples
    of an undertrained denoiser). Returns the judge (eval mode) and its loss history."""
    from tqdm.auto import tqdm

    from .config import JudgeConfig
    from .models import build

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    real = scenes.ScenePool(pool, seed=JUDGE_SEED, progress=progress)
    targets = label_targets(real.labels)
    bad_samples = undertrained_samples(512, 120, seed=seed + 1)
    judge = build(JudgeConfig())
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    losses = []
    for _ in tqdm(range(steps), desc="training the judge", disable=not progress):
        idx = torch.randint(len(real), (batch,), generator=g)
        x = real.images[idx].float() / 127.5 - 1
        half = batch // 2
        kinds = torch.randint(len(TRAIN_CORRUPTIONS) + 1, (half,), generator=g)
        fakes = x[half:].clone()
        for k in range(len(TRAIN_CORRUPTIONS)):
            m = kinds == k
            if m.any():
                fakes[m] = corrupt(x[half:][m], TRAIN_CORRUPTIONS[k], g)
        m = kinds == len(TRAIN_CORRUPTIONS)
        fakes[m] = bad_samples[torch.randint(len(bad_samples), (int(m.sum()),), generator=g)]
        out = judge(torch.cat([x[:half], fakes]))
        t = {k: v[idx[:half]] for k, v in targets.items()}
        is_real = torch.cat([torch.ones(half), torch.zeros(batch - half)])
        loss = (F.binary_cross_entropy_with_logits(out["presence"][:half], t["presence"])
                + F.cross_entropy(out["colour"][:half], t["colour"], ignore_index=-100)
                + F.cross_entropy(out["phase"][:half], t["phase"], ignore_index=-100)
                + F.binary_cross_entropy_with_logits(out["real"][:, 0], is_real))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return judge.eval(), losses


# ----------------------------------------------------------------------------- reading images

CONFIDENT = 0.8  # a presence reading counts as confident below 1 - CONFIDENT or above CONFIDENT


@torch.no_grad()
def read(judge, x: torch.Tensor, batch: int = 256) -> dict[str, torch.Tensor]:
    """The judge's reading of images (B, 3, H, W): probabilities of each head and features."""
    judge.eval()
    device = next(judge.parameters()).device
    parts = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].float().to(device)
        out = judge(xb)
        parts.append({"presence": out["presence"].sigmoid(), "colour": out["colour"].softmax(-1),
                      "phase": out["phase"].softmax(-1), "real": out["real"][:, 0].sigmoid(),
                      "features": judge.features(xb)})
    return {k: torch.cat([p[k] for p in parts]).cpu() for k in parts[0]} if parts else {}


def recognisable(judge, x: torch.Tensor) -> torch.Tensor:
    """Per image: the judge calls it a real scene (p_real >= 0.5) *and* is sure what is in it
    (every presence probability below 0.2 or above 0.8). Bool (B,)."""
    return recognisable_reading(read(judge, x))


def recognisable_reading(r: dict) -> torch.Tensor:
    """``recognisable`` from a reading already made by ``read``."""
    p = r["presence"]
    confident = ((p >= CONFIDENT) | (p <= 1 - CONFIDENT)).all(dim=1)
    return (r["real"] >= 0.5) & confident


def recognisable_rate(judge, x: torch.Tensor) -> float:
    """Share of recognisable images. Real scenes score ~1, noise and blur ~0. Misleads when a
    generator draws only easy scenes (an empty sky is recognisable): read it beside coverage."""
    return recognisable(judge, x).float().mean().item()


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, D) (the FID formula,
    Heusel et al. 2017): |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)). Biased for small N:
    compare values computed with the same N."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)
    # tr (S_a S_b)^(1/2) = sum of square roots of the eigenvalues of S_a S_b (real, >= 0 for PSD S)
    eig = torch.linalg.eigvals(s_a @ s_b).real.clamp(min=0)
    return float((mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * eig.sqrt().sum())


def judged_fid(judge, x: torch.Tensor, reference: torch.Tensor) -> float:
    return frechet_distance(read(judge, x)["features"], read(judge, reference)["features"])


def _contents(r: dict) -> torch.Tensor:
    """Which of the 8 pup/rocket/moon combinations the judge reads in each image."""
    bits = (r["presence"] >= 0.5).long()
    return bits[:, 0] * 4 + bits[:, 1] * 2 + bits[:, 2]


def coverage(judge, x: torch.Tensor, reference: torch.Tensor) -> dict:
    """Total-variation distance (0 = same, 1 = disjoint) between the distributions of judged
    contents (8 object combinations; rocket colours) of ``x`` and of real ``reference`` scenes.
    Misleads with few images: each category needs several members."""
    rx, rr = read(judge, x), read(judge, reference)

    def tv(cx, cr, k):
        px = torch.bincount(cx, minlength=k).float() / max(1, len(cx))
        pr = torch.bincount(cr, minlength=k).float() / max(1, len(cr))
        return 0.5 * (px - pr).abs().sum().item()

    rocket_x, rocket_r = rx["presence"][:, 1] >= 0.5, rr["presence"][:, 1] >= 0.5
    return {"contents_tv": tv(_contents(rx), _contents(rr), 8),
            "colour_tv": tv(rx["colour"][rocket_x].argmax(-1), rr["colour"][rocket_r].argmax(-1), len(COLOURS))}


def mean_pairwise_distance(f: torch.Tensor) -> float:
    d = torch.cdist(f.double(), f.double())
    n = len(f)
    return float(d.sum() / max(1, n * (n - 1)))


def diversity(judge, x: torch.Tensor, reference: torch.Tensor, collapse_below: float = 0.3) -> dict:
    """Mean pairwise distance of judge features, as a ratio to real scenes' (1 = as varied as real).
    A generator that draws (nearly) the same picture every time scores near 0 and is flagged
    ``collapsed``. Misleads when variety is all noise: read it beside recognisable_rate."""
    ratio = mean_pairwise_distance(read(judge, x)["features"]) / mean_pairwise_distance(read(judge, reference)["features"])
    return {"ratio_to_real": ratio, "collapsed": ratio < collapse_below}


def nearest_distances(x: torch.Tensor, pool: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Pixel-space L2 distance from each image of ``x`` to its nearest neighbour in ``pool``."""
    xf, pf = x.flatten(1).float(), pool.flatten(1).float()
    return torch.cat([torch.cdist(xf[i:i + batch], pf).min(dim=1).values for i in range(0, len(xf), batch)])


def memorisation(x: torch.Tensor, train: torch.Tensor, reference: torch.Tensor, factor: float = 0.25) -> dict:
    """How close samples sit to the training set, against the real-to-training baseline.

    A sample is flagged as memorised when its nearest training image is closer than ``factor``
    times the median distance at which *fresh* real scenes find their nearest training image.
    Misleads for tiny training sets (everything is near) and with pixel distance's blind spots
    (a shifted copy is far in pixels)."""
    d = nearest_distances(x, train)
    base = nearest_distances(reference, train).median()
    return {"median_nn_ratio": float(d.median() / base), "memorised_fraction": float((d < factor * base).float().mean())}


def caption_agreement(judge, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> float:
    """Share of images whose judged contents match what their labels (captions) asked for:
    the right objects, and the rocket's colour and the moon's phase where asked."""
    r = read(judge, x)
    t = label_targets(labels)
    ok = ((r["presence"] >= 0.5).float() == t["presence"]).all(dim=1)
    asked_colour = t["colour"] >= 0
    ok[asked_colour] &= r["colour"][asked_colour].argmax(-1) == t["colour"][asked_colour]
    asked_phase = t["phase"] >= 0
    ok[asked_phase] &= r["phase"][asked_phase].argmax(-1) == t["phase"][asked_phase]
    return ok.float().mean().item()


def reference_scenes(n: int) -> tuple[torch.Tensor, list[scenes.SceneLabels]]:
    """Held-out real scenes (never used to train a denoiser or the judge)."""
    return scenes.batch(n, seed=HELD_OUT_SEED)


def evaluate(judge, x: torch.Tensor, train: torch.Tensor | None = None) -> dict:
    """Every sample-quality metric of images ``x`` against as many held-out real scenes."""
    ref, _ = reference_scenes(len(x))
    out = {"images": len(x), "recognisable_rate": recognisable_rate(judge, x), "frechet_distance": judged_fid(judge, x, ref),
           **{f"coverage_{k}": v for k, v in coverage(judge, x, ref).items()},
           **{f"diversity_{k}": v for k, v in diversity(judge, x, ref).items()}}
    if train is not None:
        out |= {f"memorisation_{k}": v for k, v in memorisation(x, train, ref).items()}
    return out


def probe(judge, n: int = 128, steps: int = 50, seed: int = 0):
    """A cheap quality reading for training curves: ``probe(judge)(model)`` samples ``n`` images
    (DDIM-``steps``, eta 1, fixed seed) and returns their recognisable rate and Frechet distance
    (against ``n`` held-out scenes, so compare values taken with the same ``n``)."""
    from .samplers import sample_many

    reference = read(judge, reference_scenes(n)[0])["features"]

    def measure(model) -> dict:
        x = sample_many(model, n, steps=steps, seed=seed)
        r = read(judge, x)
        return {"recognisable_rate": recognisable_reading(r).float().mean().item(),
                "frechet_distance": frechet_distance(r["features"], reference)}

    return measure


def label_accuracy(judge, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> dict[str, float]:
    """Per-label accuracy of the judge's reading on labelled real scenes."""
    r, t = read(judge, x), label_targets(labels)
    acc = {f"presence_{o}": ((r["presence"][:, i] >= 0.5).float() == t["presence"][:, i]).float().mean().item()
           for i, o in enumerate(scenes.OBJECTS)}
    for head in ("colour", "phase"):
        m = t[head] >= 0
        acc[head] = (r[head][m].argmax(-1) == t[head][m]).float().mean().item()
    return acc


def validate_judge(judge, n: int = 2000, seed: int = 0) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Held-out accuracy, and recognisable rates on real scenes and on every kind of non-scene,
    including corruptions and an undertrained model the judge never saw in training.
    Returns (report, mixed images, their recognisable flags)."""
    g = torch.Generator().manual_seed(seed + 7)
    x, labels = reference_scenes(n)
    report = {"label_accuracy": label_accuracy(judge, x, labels), "recognisable_rate": {}}
    k = min(n, 256)
    sets = {"real (held out)": x[:k]}
    sets |= {f"{c} (trained on)": corrupt(x[:k], c, g) for c in TRAIN_CORRUPTIONS}
    sets |= {f"{c} (never seen)": corrupt(x[:k], c, g) for c in HELD_OUT_CORRUPTIONS}
    sets["undertrained unet-small (never seen)"] = undertrained_samples(k, 200, seed=seed + 99, preset="unet-small")
    flags = {}
    for name, imgs in sets.items():
        flags[name] = recognisable(judge, imgs)
        report["recognisable_rate"][name] = flags[name].float().mean().item()
    mixed = torch.cat([v[:16] for v in sets.values()])
    return report, mixed, torch.cat([f[:16] for f in flags.values()])
