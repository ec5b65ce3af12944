"""Measuring quality honestly: the metrics read off the scene judge.

Our scenes are procedural, so we know the truth. The **scene judge** (``models/judge.py``,
trained by ``judging.py``) reads an image: is there a pup / rocket / moon, the rocket's colour,
the moon's phase, and is this a clean scene at all. ``read`` turns a batch into one *reading*
(probabilities of every head, and the judge's features); every metric below has a form that
takes readings, so ``evaluate`` runs the judge once for the samples and once for the reference.

Metrics (each says what it means and when it misleads):
    recognisable_rate   share of images the judge calls real *and* reads confidently
    frechet_distance    FID analogue in the judge's feature space
    coverage            how judged contents are distributed, vs real scenes
    diversity           mean pairwise distance in judge features, and twins; flags collapse
    memorisation        nearest-neighbour distance to the training set vs a real baseline (``memorisation.py``)
    caption_agreement   does the judge see what each caption asked for
"""
from __future__ import annotations

import numpy as np
import torch

from .. import scenes
from ..diffusion.samplers import sample_many
from ..models.judge import COLOURS, GEOMETRY, GEOMETRY_UNIT, PHASES
from ..scenes import HELD_OUT_SEED, check_images
from . import redraw
from .memorisation import check_several, memorisation


def label_targets(labels: list[scenes.SceneLabels]) -> dict[str, torch.Tensor]:
    """What the judge's label heads should read (-100: no rocket / no moon, nothing to read)."""
    presence = torch.from_numpy(np.stack([lab.vector() for lab in labels]))
    colour = torch.tensor([COLOURS.index(lab.rocket_colour) if lab.rocket else -100 for lab in labels])
    phase = torch.tensor([PHASES.index(lab.moon_phase) if lab.moon else -100 for lab in labels])
    rel = [[lab.relations[k] for k in scenes.RELATIONS] for lab in labels]
    relations = torch.tensor([[float(bool(v)) for v in r] for r in rel])
    relations_mask = torch.tensor([[float(v is not None) for v in r] for r in rel])
    geometry, geometry_mask = redraw.geometry_targets(labels)
    return {"presence": presence, "colour": colour, "phase": phase, "relations": relations,
            "relations_mask": relations_mask, "geometry": geometry, "geometry_mask": geometry_mask}


# ----------------------------------------------------------------------------- reading images

CONFIDENT = 0.8  # a presence reading counts as confident below 1 - CONFIDENT or above CONFIDENT
# Analysis by synthesis (redraw.py): every object the judge sees must re-draw this well, and nothing
# larger than a star may stand out of the sky outside the objects. Set from held-out real scenes and
# the eye-calibration set's tuning half (see data/eye-calibration.json).
FIDELITY_MIN = 0.85
STRAY_MAX = 0  # stray-blob pixels allowed
RECOGNISABLE = (f"p_real >= 0.5, every presence probability <= {1 - CONFIDENT:.1f} or >= {CONFIDENT:.1f}, every "
                f"object seen re-draws with fidelity >= {FIDELITY_MIN} and no stray blob stands out of the sky")


@torch.no_grad()
def read(judge, x: torch.Tensor, batch: int = 256, redraw_objects: bool = True) -> dict[str, torch.Tensor]:
    """The judge's reading of images (B, 3, H, W) in [-1, 1]: probabilities of each head, the geometry
    it read, its features and (``redraw_objects``) each object's re-drawing fidelity and stray blobs."""
    check_images(x, judge.config.image_size)
    judge.eval()
    device = next(judge.parameters()).device
    parts = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].float().to(device)
        out = judge(xb)
        parts.append({"presence": out["presence"].sigmoid(), "colour": out["colour"].softmax(-1),
                      "phase": out["phase"].softmax(-1), "real": out["real"][:, 0].sigmoid(),
                      "relations": out["relations"].sigmoid(), "geometry": out["geometry"],
                      "features": out["features"]})
    if not parts:
        return {}
    r = {k: torch.cat([p[k] for p in parts]).cpu() for k in parts[0]}
    if redraw_objects:
        r["fidelity"], r["stray"], _ = redraw.fidelity(x, r)
    return r


def recognisable(judge, x: torch.Tensor) -> torch.Tensor:
    """Per image: the judge calls it a real scene (p_real >= 0.5), is sure what is in it (every
    presence probability below 0.2 or above 0.8), every object it sees re-draws with fidelity
    >= FIDELITY_MIN, and no stray blob stands out of the sky. Bool (B,)."""
    return recognisable_reading(read(judge, x))


def recognisable_reading(r: dict) -> torch.Tensor:
    """``recognisable`` from a reading already made by ``read``."""
    p = r["presence"]
    confident = ((p >= CONFIDENT) | (p <= 1 - CONFIDENT)).all(dim=1)
    ok = (r["real"] >= 0.5) & confident
    if "fidelity" in r:
        ok &= (r["fidelity"].isnan() | (r["fidelity"] >= FIDELITY_MIN)).all(dim=1) & (r["stray"] <= STRAY_MAX)
    return ok


def with_objects_reading(r: dict) -> torch.Tensor:
    """Per image: the judge sees at least one object (an empty starry sky is a real scene, about 7 % of
    them, but a generator that draws mostly empty skies has not learned much). Bool (B,)."""
    return (r["presence"] >= 0.5).any(dim=1)


def reading_facts(r: dict) -> list[dict]:
    """What the judge read in each image, as the facts a sentence can state (``scenes.FACTS``)."""
    rel = {k: r["relations"][:, i] >= 0.5 for i, k in enumerate(scenes.RELATIONS)}
    out = []
    for b, (pup, rocket, moon) in enumerate((r["presence"] >= 0.5).tolist()):
        f = {"pup": pup, "rocket": rocket, "moon": moon,
             "colour": COLOURS[int(r["colour"][b].argmax())] if rocket else None,
             "phase": PHASES[int(r["phase"][b].argmax())] if moon else None}
        ok = scenes.applies(pup, rocket, moon, pup_in=bool(rel["pup_in_rocket"][b]))
        out.append(f | {k: bool(rel[k][b]) if ok[k] else None for k in scenes.RELATIONS})
    return out


def matches(r: dict, prompt: str) -> torch.Tensor:
    """Per image of a reading: is it recognisable, and does what the judge read agree with everything
    ``prompt`` says (its objects, and no others; colours and phases it names; every relation it
    states)? The composition score: a well-drawn pup *on* the rocket does not match "sitting in". Bool (B,)."""
    wanted = scenes.parse(prompt)
    agree = torch.tensor([scenes.satisfies(wanted, f) for f in reading_facts(r)], dtype=torch.bool)
    return agree & recognisable_reading(r)


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
    """Frechet distance between the judge's features of ``x`` and of ``reference``."""
    return frechet_distance(read(judge, x, redraw_objects=False)["features"],
                            read(judge, reference, redraw_objects=False)["features"])


def _contents(r: dict) -> torch.Tensor:
    """Which of the 8 pup/rocket/moon combinations the judge reads in each image."""
    bits = (r["presence"] >= 0.5).long()
    return bits[:, 0] * 4 + bits[:, 1] * 2 + bits[:, 2]


def coverage(judge, x: torch.Tensor, reference: torch.Tensor) -> dict:
    """Total-variation distance (0 = same, 1 = disjoint) between the distributions of judged
    contents (8 object combinations; rocket colours) of ``x`` and of real ``reference`` scenes.
    Misleads with few images: each category needs several members."""
    return coverage_reading(read(judge, x, redraw_objects=False), read(judge, reference, redraw_objects=False))


def coverage_reading(rx: dict, rr: dict) -> dict:
    """``coverage`` from readings of the samples (``rx``) and of the reference (``rr``)."""
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


COLLAPSE_BELOW = 0.3  # diversity ratio under which a generator counts as collapsed (real scenes: ~1)
# Twins: a sample whose nearest other sample (judge features) is closer than TWIN_FACTOR x the median distance at
# which a real scene finds its nearest other real scene (as many of them). Real scenes: ~8 % twins (256 of them);
# a generator drawing a few pictures over and over: most of its samples are twins, though its *mean* pairwise
# distance can stay as high as real scenes' (a model that memorised 16 scenes: ratio 0.96, 86 % twins).
TWIN_FACTOR = 0.25
TWINS_ABOVE = 0.5  # more twins than this: collapsed onto a few pictures


def nearest_other(f: torch.Tensor) -> torch.Tensor:
    """Each row's distance to its nearest *other* row (N,)."""
    d = torch.cdist(f.double(), f.double())
    return d.fill_diagonal_(float("inf")).min(dim=1).values


def twins_reading(rx: dict, rr: dict, factor: float = TWIN_FACTOR) -> float:
    """Share of samples with a twin among the other samples (see ``TWIN_FACTOR``), against as many real scenes."""
    n = min(len(rx["features"]), len(rr["features"]))
    base = nearest_other(rr["features"][:n]).median()
    return float((nearest_other(rx["features"]) < factor * base).float().mean())


def diversity(judge, x: torch.Tensor, reference: torch.Tensor, collapse_below: float = COLLAPSE_BELOW) -> dict:
    """Mean pairwise distance of judge features, as a ratio to real scenes' (1 = as varied as real), and the
    share of ``twins`` (samples with a near-copy among the others). A generator that draws (nearly) the same
    picture every time scores a ratio near 0; one that draws a few pictures over and over, mostly twins: either
    is flagged ``collapsed``. Misleads when variety is all noise: read it beside recognisable_rate."""
    check_several(samples=x, reference=reference)
    return diversity_reading(read(judge, x, redraw_objects=False), read(judge, reference, redraw_objects=False),
                             collapse_below)


def diversity_reading(rx: dict, rr: dict, collapse_below: float = COLLAPSE_BELOW) -> dict:
    """``diversity`` from readings of the samples (``rx``) and of the reference (``rr``)."""
    ratio = mean_pairwise_distance(rx["features"]) / mean_pairwise_distance(rr["features"])
    twins = twins_reading(rx, rr)
    return {"ratio_to_real": ratio, "twins": twins, "collapsed": ratio < collapse_below or twins > TWINS_ABOVE}


def caption_agreement(judge, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> float:
    """Share of images in which the judge reads everything their labels (captions) say: the objects,
    the rocket's colour, the moon's phase and every relation."""
    judged = reading_facts(read(judge, x, redraw_objects=False))
    return float(np.mean([scenes.satisfies(scenes.facts(lab), f) for lab, f in zip(labels, judged)]))


def reference_scenes(n: int) -> tuple[torch.Tensor, list[scenes.SceneLabels]]:
    """Held-out real scenes (seed ``HELD_OUT_SEED``: never used to train a denoiser or the judge)."""
    return scenes.batch(n, seed=HELD_OUT_SEED)


def evaluate(judge, x: torch.Tensor, train: torch.Tensor | None = None) -> dict:
    """Every sample-quality metric of images ``x`` against as many held-out real scenes. The judge
    reads the samples once and the reference once; every metric works from those two readings."""
    ref, _ = reference_scenes(len(x))
    rx, rr = read(judge, x), read(judge, ref)
    out = {"images": len(x), "recognisable_rate": recognisable_reading(rx).float().mean().item(),
           "with_objects": with_objects_reading(rx).float().mean().item(),
           "with_objects_real": with_objects_reading(rr).float().mean().item(),
           "frechet_distance": frechet_distance(rx["features"], rr["features"]),
           **{f"coverage_{k}": v for k, v in coverage_reading(rx, rr).items()},
           **{f"diversity_{k}": v for k, v in diversity_reading(rx, rr).items()}}
    if train is not None:
        out |= {f"memorisation_{k}": v for k, v in memorisation(x, train, ref).items() if isinstance(v, float)}
    return out


PROBE_IMAGES = 128  # enough for a rate within a few points; few enough to probe a training run often


def probe(judge, n: int = PROBE_IMAGES, steps: int = 50, seed: int = 0, draw=None):
    """A cheap quality reading for training curves: ``probe(judge)(model)`` samples ``n`` images
    (DDIM-``steps``, eta 1, fixed seed) and returns their recognisable rate, Frechet distance, diversity
    (ratio to real), twins and contents coverage (total variation) against ``n`` held-out scenes (so compare values
    taken with the same ``n``). ``draw(model, n, steps, seed)``: how to sample (default
    ``samplers.sample_many``; a latent model paints its latents, ``latent.drawer``; a GAN, ``adversarial.sample``)."""
    reference = read(judge, reference_scenes(n)[0])
    draw = draw or (lambda model, n, steps, seed: sample_many(model, n, steps=steps, seed=seed))

    def measure(model) -> dict:
        r = read(judge, draw(model, n, steps, seed))
        div = diversity_reading(r, reference)
        return {"recognisable_rate": recognisable_reading(r).float().mean().item(),
                "frechet_distance": frechet_distance(r["features"], reference["features"]),
                "diversity": div["ratio_to_real"], "twins": div["twins"],
                "contents_tv": coverage_reading(r, reference)["contents_tv"]}

    return measure


def label_accuracy(judge, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> dict[str, float]:
    """Per-label accuracy of the judge's reading on labelled real scenes (each relation over the scenes
    where it applies), and the geometry head's mean error in pixels per object."""
    r, t = read(judge, x, redraw_objects=False), label_targets(labels)
    acc = {f"presence_{o}": ((r["presence"][:, i] >= 0.5).float() == t["presence"][:, i]).float().mean().item()
           for i, o in enumerate(scenes.OBJECTS)}
    for head in ("colour", "phase"):
        m = t[head] >= 0
        acc[head] = (r[head][m].argmax(-1) == t[head][m]).float().mean().item()
    for i, rel in enumerate(scenes.RELATIONS):
        m = t["relations_mask"][:, i] > 0
        acc[rel] = ((r["relations"][m, i] >= 0.5).float() == t["relations"][m, i]).float().mean().item()
    err = (r["geometry"] - t["geometry"]).abs() * GEOMETRY_UNIT
    for o in scenes.OBJECTS:
        cols = [i for i, g in enumerate(GEOMETRY) if g.startswith(o + "_") and g.split("_")[1] in "xyr"]
        m = t["geometry_mask"][:, cols] > 0
        acc[f"{o}_position_error_px"] = err[:, cols][m].mean().item()
    return acc
