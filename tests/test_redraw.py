"""Analysis by synthesis: re-drawing a reading, fitting it, and scoring each object's fidelity."""
import torch
import torch.nn.functional as F

from diffusion_course import scenes
from diffusion_course.judging import metrics, redraw
from diffusion_course.models.judge import COLOURS, PHASES


def oracle_reading(labels, noise: float = 0.0, seed: int = 0) -> dict:
    """What a perfect judge would read (geometry optionally perturbed by ``noise`` units)."""
    t = metrics.label_targets(labels)
    g = torch.Generator().manual_seed(seed)
    return {"presence": t["presence"], "colour": F.one_hot(t["colour"].clamp(min=0), len(COLOURS)).float(),
            "phase": F.one_hot(t["phase"].clamp(min=0), len(PHASES)).float(), "relations": t["relations"],
            "geometry": t["geometry"] + noise * torch.randn(t["geometry"].shape, generator=g)}


def test_geometry_targets_read_back_to_the_labels():
    _, labels = scenes.batch(30, seed=4)
    r = oracle_reading(labels)
    for b, lab in enumerate(labels):
        back = redraw.labels_from_reading(r, b)
        assert scenes.facts(back) == scenes.facts(lab) or not lab.objects
        for name in ("pup", "rocket", "moon"):
            if getattr(lab, name) is not None:
                got, want = torch.tensor(getattr(back, name)).double(), torch.tensor(getattr(lab, name)).double()
                assert torch.allclose(got, want, atol=1e-4), name


def test_a_perfect_reading_redraws_real_scenes_almost_exactly():
    x, labels = scenes.batch(24, seed=5)
    fid, stray, redrawn = redraw.fidelity(x, oracle_reading(labels), rounds=0)
    present = ~fid.isnan()
    assert present.sum() >= 30 and fid[present].min() > 0.93, fid
    assert (stray == 0).all()
    assert (redrawn - x).abs().mean() < 0.05  # the sky is estimated, the objects re-drawn


def test_fitting_recovers_from_a_misread_position():
    x, labels = scenes.batch(16, seed=6)
    off = oracle_reading(labels, noise=0.15, seed=1)  # about 0.6 px and 1.5 degrees off
    unfitted, _, _ = redraw.fidelity(x, off, rounds=0)
    fitted, _, _ = redraw.fidelity(x, off, rounds=2)
    m = ~unfitted.isnan()
    assert fitted[m].mean() > unfitted[m].mean() + 0.01


def test_a_malformed_object_and_a_stray_blob_score_low():
    x, labels = scenes.batch(40, seed=7)
    keep = [i for i, lab in enumerate(labels) if lab.moon is not None][:8]
    x, labels = x[keep], [labels[i] for i in keep]
    r = oracle_reading(labels)
    moon = scenes.OBJECTS.index("moon")
    good, _, _ = redraw.fidelity(x, r)
    squashed = x.clone()
    for b, lab in enumerate(labels):  # stretch the moon's box 1.6x sideways: an oval moon
        mx, my, rad = lab.moon
        y0, y1 = int(max(0, my - rad - 1)), int(min(32, my + rad + 2))
        x0, x1 = int(max(0, mx - rad - 1)), int(min(32, mx + rad + 2))
        box = x[b:b + 1, :, y0:y1, x0:x1]
        wide = F.interpolate(box, size=(y1 - y0, int(1.6 * (x1 - x0))), mode="bilinear")
        c = (x0 + x1) // 2 - wide.shape[-1] // 2
        lo, hi = max(0, c), min(32, c + wide.shape[-1])
        squashed[b, :, y0:y1, lo:hi] = wide[0, :, :, lo - c:hi - c]
    bad, _, _ = redraw.fidelity(squashed, r)
    assert (bad[:, moon] < good[:, moon] - 0.03).float().mean() >= 0.75, (good[:, moon], bad[:, moon])
    blob = x.clone()
    blob[:, :, 26:30, 2:6] = 0.9  # a 4x4 bright blob low on the left, where no object of these scenes is
    far = [b for b, lab in enumerate(labels) if all(
        o is None or abs(o[0] - 4) + abs(o[1] - 28) > 12 for o in (lab.pup, lab.rocket))]
    _, stray, _ = redraw.fidelity(blob[far], {k: v[far] for k, v in r.items()})
    assert (stray > 0).all(), stray
