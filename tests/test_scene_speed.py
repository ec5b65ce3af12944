"""Drawing scenes fast changes no bit: the sub-pixel planes, the cropped painting and the plane-by-plane box
filter against a plain full-canvas reference; parallel pools against serial ones; the disk cache."""
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import SafetensorError

from diffusion_course import scenes
from diffusion_course.images import quantize
from diffusion_course.scenes import cache, drawing


class PlainCanvas:
    """The reference: one (n k, n k, 3) canvas, every shape's masks over all of it, and ``mean`` to filter."""

    def __init__(self, size: int):
        self.size, self.k = size, drawing.SUPERSAMPLE
        c = (np.arange(size * self.k) + 0.5) / self.k
        self.x, self.y = np.meshgrid(c, c)
        self.rgb = np.zeros((size * self.k, size * self.k, 3), np.float32)
        self.alpha = np.zeros((size * self.k, size * self.k), np.float32)

    def crop(self, cx, cy, r):
        return self

    def paint(self, mask, colour):
        self.rgb[mask] = colour
        self.alpha[mask] = 1.0

    def downsample(self, a=None):
        a = self.rgb if a is None else a
        return a.reshape(self.size, self.k, self.size, self.k, *a.shape[2:]).mean(axis=(1, 3))


def plain_render(labels, rng):
    cv = PlainCanvas(labels.size)
    top = np.array([0.03, 0.05, 0.14]) + rng.uniform(-0.01, 0.02, 3)
    bottom = np.array([0.10, 0.14, 0.36]) + rng.uniform(-0.03, 0.03, 3) * np.array([1, 1.5, 1])
    bottom = bottom + [(0, 0, 0), (0.08, -0.02, 0.04), (-0.03, 0.06, 0.0)][rng.choice(3)]
    w = (cv.y / cv.size)[..., None]
    cv.rgb[:] = (1 - w) * top + w * bottom
    k = cv.k
    for x, y in labels.stars:
        b = rng.uniform(0.55, 1.0)
        colour = np.array([1.0, 0.97, 0.85]) * b
        cv.rgb[y * k:(y + 1) * k, x * k:(x + 1) * k] = colour
        if b > 0.9 and 1 <= x < cv.size - 1 and 1 <= y < cv.size - 1:
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                sl = np.s_[(y + dy) * k:(y + dy + 1) * k, (x + dx) * k:(x + dx + 1) * k]
                cv.rgb[sl] = 0.5 * cv.rgb[sl] + 0.5 * colour * 0.7
    for name, paint in drawing.PAINTERS.items():
        if getattr(labels, name) is not None:
            paint(cv, labels)
    return np.clip(cv.downsample(), 0.0, 1.0)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize(("seed", "size", "world", "n"), [(0, 32, 2, 60), (1, 32, 1, 40), (2, 16, 2, 40),
                                                         (3, 64, 2, 15), (4, 48, 1, 10)])
def test_scenes_are_bit_identical_to_the_plain_reference(seed, size, world, n):
    for i in range(n):
        img, labels = scenes.scene(seed, i, size, world)
        rng = np.random.default_rng([seed, i])
        assert scenes.sample_labels(rng, size, world) == labels
        assert same_bits(img, plain_render(labels, rng)), (seed, i, labels)
        for name, (colour, coverage) in scenes.layers(labels).items():
            cv = PlainCanvas(size)
            drawing.PAINTERS[name](cv, labels)
            assert same_bits(colour, cv.downsample()) and same_bits(coverage, cv.downsample(cv.alpha)), (i, name)


def test_the_plane_sums_add_in_the_order_mean_does():
    rng = np.random.default_rng(0)
    for size in (16, 32):
        cv = drawing._Canvas(size)
        cv.rgb[:] = rng.random(cv.rgb.shape) * rng.choice([1e-3, 1.0, 7.0], cv.rgb.shape)
        cv.alpha[:] = rng.random(cv.alpha.shape) < 0.5  # coverage is 0 or 1
        k = cv.k  # (k, k, 3, n, n) -> the plain (n k, n k, 3) canvas
        plain = cv.rgb.transpose(3, 0, 4, 1, 2).reshape(size * k, size * k, 3)
        assert same_bits(cv.downsample(), plain.reshape(size, k, size, k, 3).mean(axis=(1, 3)))
        alpha = cv.alpha.transpose(2, 0, 3, 1).reshape(size * k, size * k)
        assert same_bits(cv.downsample(cv.alpha), alpha.reshape(size, k, size, k).mean(axis=(1, 3)))


def test_a_pool_drawn_in_parallel_is_the_serial_one():
    x, labels = scenes.batch(600, seed=5, world=1)
    one = scenes.draw_pool(600, seed=5, world=1, workers=1)
    two = scenes.draw_pool(600, seed=5, world=1, workers=2, progress=True)
    assert torch.equal(one[0], quantize(x)) and torch.equal(two[0], one[0]) and one[0].dtype == torch.uint8
    assert two[1] == one[1] == labels
    assert scenes.draw_pool(0, workers=2)[0].shape == (0, 3, 32, 32)


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """The cache in a fresh folder, keeping pools of any size."""
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    monkeypatch.setattr(cache, "SMALLEST", 1)
    return tmp_path / "pools"


def test_a_kept_pool_is_read_back_identical(kept, monkeypatch):
    fresh = scenes.ScenePool(40, seed=6, size=16)
    files = list(kept.iterdir())
    assert [f.name for f in files] == [cache.path(40, 6, 16, scenes.WORLD).name]

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a pool that was kept")

    monkeypatch.setattr(scenes, "draw_pool", no_drawing)
    again = scenes.ScenePool(40, seed=6, size=16)
    assert torch.equal(again.images, fresh.images) and again.images.dtype == torch.uint8
    assert again.labels == fresh.labels and repr(again.labels) == repr(fresh.labels)
    assert all(isinstance(lab, scenes.SceneLabels) for lab in again.labels)


def test_each_pool_has_its_own_file(kept):
    scenes.ScenePool(8, seed=0)
    for other in (dict(seed=1), dict(size=16), dict(world=1)):
        pool = scenes.ScenePool(8, **({"seed": 0} | other))
        ref_x, ref_labels = scenes.batch(8, **({"seed": 0} | other))
        assert torch.equal(pool.images, quantize(ref_x)) and pool.labels == ref_labels
    scenes.ScenePool(9, seed=0)
    assert len(list(kept.iterdir())) == 5


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another pool"])
def test_a_damaged_file_is_drawn_again(kept, damage):
    fresh = scenes.ScenePool(30, seed=7)
    file = cache.path(30, 7, 32, scenes.WORLD)
    if damage == "garbage":
        file.write_bytes(b"not a pool at all")
    elif damage == "truncated":
        file.write_bytes(file.read_bytes()[:-100])
    else:  # a file of the right name that holds another pool (of the same shape)
        scenes.ScenePool(30, seed=8)
        cache.path(30, 8, 32, scenes.WORLD).replace(file)
    with pytest.warns(UserWarning, match="not using the kept scene pool"):
        again = scenes.ScenePool(30, seed=7)
    assert torch.equal(again.images, fresh.images) and again.labels == fresh.labels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # drawn again, the file is whole again
        assert torch.equal(scenes.ScenePool(30, seed=7).images, fresh.images)


def test_a_cache_that_cannot_be_written_only_warns(kept, monkeypatch):
    kept.parent.mkdir(exist_ok=True)
    kept.write_text("a file where the folder should be")
    with pytest.warns(UserWarning, match="could not keep the scene pool"):
        pool = scenes.ScenePool(12, seed=1)
    assert torch.equal(pool.images, quantize(scenes.batch(12, seed=1)[0]))
    kept.unlink()

    def disk_full(tensors, filename, metadata):
        Path(filename).write_bytes(b"half a pool")
        raise SafetensorError("No space left on device")

    monkeypatch.setattr(cache, "save_file", disk_full)
    with pytest.warns(UserWarning, match="could not keep the scene pool"):
        scenes.ScenePool(12, seed=1)
    assert list(kept.iterdir()) == []  # no half-written file left behind


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "SMALLEST", 1)
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.path(8, 0, 32, 2) is None
    scenes.ScenePool(8, seed=0)
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    assert cache.path(8, 0, 32, 2).parent == tmp_path / "pools"
    monkeypatch.setattr(cache, "SMALLEST", 100)
    scenes.ScenePool(8, seed=0)  # small pools are not kept
    assert not (tmp_path / "pools").exists()


def test_scenes_per_second_measures_drawing():
    assert scenes.scenes_per_second(16) > 0
