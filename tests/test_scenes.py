import numpy as np
import pytest
import torch

from diffusion_course import scenes


def test_shape_range_and_determinism():
    x, labels = scenes.batch(8, seed=3)
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    x2, labels2 = scenes.batch(8, seed=3)
    assert torch.equal(x, x2) and labels == labels2
    x3, _ = scenes.batch(8, seed=4)
    assert not torch.equal(x, x3)


def test_scene_i_does_not_depend_on_the_batch_it_is_drawn_in():
    x_all, _ = scenes.batch(10, seed=1)
    x_part, _ = scenes.batch(3, seed=1, start=7)
    assert torch.equal(x_all[7:], x_part)


def pup_pixels(img01: np.ndarray) -> np.ndarray:
    """Pixels of the pup's blue: bright blue, little red (the window is paler, the sky darker)."""
    r, g, b = img01[..., 0], img01[..., 1], img01[..., 2]
    return (b > 0.75) & (r < 0.45) & (g > 0.35) & (g < 0.65)


def test_labels_agree_with_pixels():
    seen = {"pup": 0, "rocket": 0, "moon": 0, "none": 0}
    for i in range(300):
        img, lab = scenes.scene(7, i)
        has_blue = pup_pixels(img).sum() >= 8
        assert has_blue == (lab.pup is not None), (i, lab)
        if lab.pup is not None:
            x, y, r = lab.pup
            px = img[int(y - 0.5 * r), int(x)]  # forehead, above eyes and muzzle
            assert px[2] > 0.75 and px[0] < 0.45, (i, px)
            seen["pup"] += 1
        if lab.rocket is not None:
            x, y, L, tilt = lab.rocket
            colour = np.array(scenes.ROCKET_COLOURS[lab.rocket_colour])
            # a point on the hull below the window, along the rocket's axis
            th = np.deg2rad(tilt)
            v = 0.2 * L
            cx, cy = x - v * np.sin(th), y + v * np.cos(th)
            d = np.abs(img[int(cy), int(cx)] - colour).max()
            if lab.pup is None or abs(cx - lab.pup[0]) > 2.2 * lab.pup[2]:  # not hidden by the pup
                assert d < 0.2, (i, lab.rocket_colour, img[int(cy), int(cx)])
            seen["rocket"] += 1
        ys, xs = np.nonzero(np.abs(img - np.array(scenes.MOON)).max(-1) < 0.06)  # moon-coloured pixels
        assert (len(ys) >= 3) == (lab.moon is not None), (i, lab, len(ys))
        if lab.moon is not None:
            x, y, r = lab.moon
            # (anti-aliased rocket edges can blend into a stray moon-coloured pixel elsewhere)
            assert np.sum(np.hypot(xs + 0.5 - x, ys + 0.5 - y) < r + 1) >= 3, (i, lab.moon)
            seen["moon"] += 1
        if not lab.objects:
            seen["none"] += 1
    assert all(v >= 10 for v in seen.values()), seen  # every case exercised (empty skies are ~7 %)


def test_captions_agree_with_labels():
    for i in range(300):
        _, lab = scenes.scene(11, i)
        c = lab.caption
        assert ("pup" in c) == (lab.pup is not None)
        assert ("rocket" in c) == (lab.rocket is not None)
        assert ("moon" in c) == (lab.moon is not None)
        assert " a orange" not in c and not c.startswith("a orange")  # "an orange rocket"
        if lab.rocket is not None:
            assert f"{lab.rocket_colour} rocket" in c
            others = set(scenes.ROCKET_COLOURS) - {lab.rocket_colour}
            assert not any(f"{o} rocket" in c for o in others)
        if lab.moon is not None:
            assert f"{lab.moon_phase} moon" in c
        if lab.pup is not None and lab.rocket is not None:
            pup_first = c.index("pup") < c.index("rocket")
            assert pup_first == (lab.pup[0] < lab.rocket[0])


def test_thousands_of_distinct_images():
    x, labels = scenes.batch(3000, seed=0)
    flat = ((x + 1) * 127.5).round().to(torch.uint8).reshape(len(x), -1)
    assert len(torch.unique(flat, dim=0)) == 3000
    assert len({l.caption for l in labels}) >= 30


def test_label_vector_and_pool():
    pool = scenes.ScenePool(300, seed=2)
    x, labels = scenes.batch(300, seed=2)
    # uint8 storage loses < half a level of 255
    assert (pool[5] - x[5]).abs().max() <= 1 / 127.5 + 1e-6
    v = np.stack([l.vector() for l in labels])
    assert v.shape == (300, len(scenes.OBJECTS))
    assert 0.4 < v[:, 0].mean() < 0.8  # pups in about 60 % of scenes
    g = torch.Generator().manual_seed(0)
    mb = pool.sample(16, generator=g)
    assert mb.shape == (16, 3, 32, 32) and mb.min() >= -1 and mb.max() <= 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        scenes.batch(-1)
    with pytest.raises(ValueError):
        scenes.batch(2, size=8)
