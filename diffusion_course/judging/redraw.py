"""Analysis by synthesis: the judge re-draws what it read, and the picture is compared with it.

Our scenes are drawn by a program (``scenes.drawing``), so a reading of a picture (which objects,
where, how big, what colour, which phase, pup in the rocket or not, flying or standing) is enough to
draw it again. A well-drawn object re-draws almost exactly; a malformed one (a stretched moon, a
smeared rocket, a pup in pieces) does not, whatever the classifier heads think of it. Per object:

    fidelity = 1 - mean over the object's pixels (dilated by 1 px) of max_channel |x - x_redrawn|

in [0, 1] colour units. The sky behind the objects is not re-drawn from the reading but estimated
from the picture itself (a vertical gradient through each row's median outside the objects), and
whatever stands out of that sky outside every object, larger than a star, is a **stray blob**.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from .. import scenes
from ..models.judge import COLOURS, GEOMETRY, GEOMETRY_UNIT, PHASES, TILT_UNIT

_I = {k: i for i, k in enumerate(GEOMETRY)}
REL = {k: i for i, k in enumerate(scenes.RELATIONS)}
STAR_CONTRAST = 0.2  # a pixel stands out of the sky by more than this (max over channels)


def geometry_targets(labels: list[scenes.SceneLabels]) -> tuple[torch.Tensor, torch.Tensor]:
    """What the geometry head should read for each scene (B, len(GEOMETRY)), and where it applies
    (a mask: absent objects, and a full moon's crescent direction, have nothing to read)."""
    target = torch.zeros(len(labels), len(GEOMETRY))
    mask = torch.zeros(len(labels), len(GEOMETRY))
    for b, lab in enumerate(labels):
        k = scenes.SIZE / lab.size  # geometry is read in 32-px units
        for name, values in (("pup", lab.pup), ("rocket", lab.rocket), ("moon", lab.moon)):
            if values is None:
                continue
            keys = [g for g in GEOMETRY if g.startswith(name + "_")]
            vals = [v * k / GEOMETRY_UNIT for v in values[:3]]
            if name == "rocket":
                vals.append(values[3] / TILT_UNIT)
            if name == "moon":
                vals += [np.cos(lab.moon_angle), np.sin(lab.moon_angle)]
            for key, v in zip(keys, vals):
                target[b, _I[key]], mask[b, _I[key]] = float(v), 1.0
            if name == "moon" and lab.moon_phase != "crescent":
                mask[b, _I["moon_cos"]] = mask[b, _I["moon_sin"]] = 0.0
    return target, mask


def labels_from_reading(r: dict, b: int, size: int = scenes.SIZE) -> scenes.SceneLabels:
    """The scene the judge read in image ``b`` of a reading (``metrics.read``), as labels to re-draw."""
    raw = r["geometry"][b].double()
    g = raw * GEOMETRY_UNIT * size / scenes.SIZE  # pixels
    present = r["presence"][b] >= 0.5
    rel = r["relations"][b] >= 0.5

    def get(*keys):
        return tuple(float(g[_I[k]]) for k in keys)

    pup = get("pup_x", "pup_y", "pup_r") if present[0] else None
    rocket = None
    if present[1]:
        rocket = (*get("rocket_x", "rocket_y", "rocket_length"), float(raw[_I["rocket_tilt"]]) * TILT_UNIT)
    moon = get("moon_x", "moon_y", "moon_r") if present[2] else None
    angle = float(torch.atan2(raw[_I["moon_sin"]], raw[_I["moon_cos"]]))
    return scenes.SceneLabels(
        pup=pup, rocket=rocket, moon=moon, size=size,
        rocket_colour=COLOURS[int(r["colour"][b].argmax())] if rocket else None,
        moon_phase=PHASES[int(r["phase"][b].argmax())] if moon else None,
        pup_in=bool(rel[REL["pup_in_rocket"]]) and pup is not None and rocket is not None,
        flying=bool(rel[REL["rocket_flying"]]), moon_angle=angle)


def _dilate(m: torch.Tensor, px: int = 1) -> torch.Tensor:
    return F.max_pool2d(m[:, None].float(), 2 * px + 1, 1, px)[:, 0] > 0


# The fit: coordinate search over each object's parameters, starting from the judge's reading.
# (field of SceneLabels, index in its tuple or None for a scalar field) -> first step size; halved each round.
SEARCH = {"pup": {("pup", 0): 0.5, ("pup", 1): 0.5, ("pup", 2): 0.4},
          "rocket": {("rocket", 0): 0.5, ("rocket", 1): 0.5, ("rocket", 3): 8.0, ("rocket", 2): 1.0},
          "moon": {("moon", 0): 0.5, ("moon", 1): 0.5, ("moon", 2): 0.4, ("moon_angle", None): 0.5}}
FIT_ROUNDS = 2


def _moved(lab: scenes.SceneLabels, key, delta: float) -> scenes.SceneLabels:
    name, i = key
    if i is None:
        return dataclasses.replace(lab, **{name: getattr(lab, name) + delta})
    t = list(getattr(lab, name))
    t[i] += delta
    return dataclasses.replace(lab, **{name: tuple(t)})


def _composite(sky: torch.Tensor, lay: dict) -> torch.Tensor:
    out = sky.clone()
    for c, a in lay.values():  # painting order: later objects cover earlier ones
        out = c + (1 - a) * out
    return out


def _torch_layers(lab: scenes.SceneLabels, only=None) -> dict:
    return {k: (torch.from_numpy(c).permute(2, 0, 1), torch.from_numpy(a))
            for k, (c, a) in scenes.layers(lab, only).items()}


def fit(img: torch.Tensor, lab: scenes.SceneLabels, rounds: int = FIT_ROUNDS):
    """Adjust the read labels so that their re-drawing matches ``img`` (3, H, W) in [0, 1] best (sum of
    absolute error in a window around each object), one parameter at a time. Returns (labels, layers,
    sky). The reading is close (about 0.2 px, a few degrees); the fit removes what is left, so that
    what stays wrong in the re-drawing is the drawing's fault, not the reading's."""
    lay = _torch_layers(lab)
    window = {k: _dilate((a > 0.05)[None], 2)[0] for k, (_, a) in lay.items()}
    outside = torch.ones_like(img[0], dtype=torch.bool)
    for m in window.values():
        outside &= ~m
    sky = _sky(img, outside)
    for r in range(rounds):
        for name in list(lay):
            error = (img - _composite(sky, lay)).abs().sum(0)[window[name]].sum()  # of the current labels
            for key, step in SEARCH[name].items():
                best = (error, lab, lay[name])
                for d in (-step / 2 ** r, step / 2 ** r):
                    cand = _moved(lab, key, d)
                    trial = lay | _torch_layers(cand, (name,))
                    e = (img - _composite(sky, trial)).abs().sum(0)[window[name]].sum()
                    if e < best[0]:
                        best = (e, cand, trial[name])
                error, lab, lay[name] = best
    return lab, lay, sky


def fidelity(x: torch.Tensor, r: dict, rounds: int = FIT_ROUNDS) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Re-draw every image of ``x`` (B, 3, H, W) in [-1, 1] from its reading ``r``, fitted (``fit``).

    Returns (per-object fidelity (B, 3) over ``scenes.OBJECTS``, NaN where the judge saw no such
    object; stray-blob pixels (B,); the re-drawings (B, 3, H, W) in [-1, 1])."""
    B, _, H, W = x.shape
    img = (x.float().clamp(-1, 1) + 1) / 2  # (B, 3, H, W) in [0, 1]
    fid = torch.full((B, len(scenes.OBJECTS)), float("nan"))
    stray = torch.zeros(B)
    redrawn = torch.empty_like(img)
    for b in range(B):
        _, lay, sky = fit(img[b], labels_from_reading(r, b, H), rounds)
        regions = {k: _dilate((a > 0.05)[None])[0] for k, (_, a) in lay.items()}
        objects = torch.zeros(H, W, dtype=torch.bool)
        for m in regions.values():
            objects |= m
        redrawn[b] = out = _composite(sky, lay)
        err = (img[b] - out).abs().amax(0)  # (H, W)
        for k, m in regions.items():
            fid[b, scenes.OBJECTS.index(k)] = 1 - err[m].mean()
        stands_out = ((img[b] - sky).abs().amax(0) > STAR_CONTRAST) & ~objects
        stray[b] = (-F.max_pool2d(-stands_out[None, None].float(), 3, 1, 1)).sum()  # erosion keeps blobs, not stars
    return fid, stray, redrawn * 2 - 1


def _sky(img: torch.Tensor, outside: torch.Tensor) -> torch.Tensor:
    """The sky behind the objects. Our skies are vertical gradients, so: each row's median colour
    over the pixels outside the objects (medians ignore stars), then a straight line through those
    medians in y, weighted by how many pixels each row had."""
    C, H, W = img.shape
    pix = img.permute(1, 2, 0)  # (H, W, 3)
    ys, meds, weights = [], [], []
    for y in range(H):
        n = int(outside[y].sum())
        if n >= 4:
            ys.append(float(y))
            meds.append(pix[y][outside[y]].median(0).values)
            weights.append(float(n))
    if len(ys) < 2:  # (almost) no sky to see: the median of everything
        return pix.reshape(-1, C).median(0).values[:, None, None].expand(C, H, W).clone()
    y, m, w = torch.tensor(ys), torch.stack(meds), torch.tensor(weights)
    A = torch.stack([torch.ones_like(y), y], 1) * w.sqrt()[:, None]  # weighted least squares
    coef = torch.linalg.lstsq(A, m * w.sqrt()[:, None]).solution  # (2, C)
    rows = coef[0] + torch.arange(H, dtype=torch.float32)[:, None] * coef[1]  # (H, C)
    return rows.T[:, :, None].expand(C, H, W).clone()
