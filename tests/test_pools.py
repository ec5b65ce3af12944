"""Training on your own pictures: a folder of PNG/JPEG files, recursively, resized and centre-cropped; files
that cannot be read are skipped and counted; an empty folder is a one-line error. And 64 x 64 training."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_course import config, load_model, scenes
from diffusion_course.config import TrainConfig
from diffusion_course.diffusion import samplers
from diffusion_course.diffusion.training import Trainer
from diffusion_course.pools import FolderPool

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def stripes(width: int, height: int) -> Image.Image:
    """A wide picture: red outer eighths, green in between, a blue square in the very centre."""
    a = np.zeros((height, width, 3), np.uint8)
    a[:] = RED
    a[:, width // 8: 7 * width // 8] = GREEN
    r = height // 8
    a[height // 2 - r: height // 2 + r, width // 2 - r: width // 2 + r] = BLUE
    return Image.fromarray(a)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "drawings"
    (root / "class-a" / "deeper").mkdir(parents=True)
    stripes(200, 100).save(root / "wide.png")
    stripes(120, 60).convert("RGB").save(root / "class-a" / "photo.JPG", quality=95)
    Image.new("L", (40, 40), 128).save(root / "class-a" / "deeper" / "grey.jpeg")  # greyscale becomes RGB
    Image.new("RGBA", (50, 70), (0, 0, 255, 128)).save(root / "class-a" / "alpha.png")
    (root / "broken.png").write_bytes(b"\x89PNG not really")  # unreadable: skipped and counted
    (root / "notes.txt").write_text("not a picture")  # not PNG/JPEG: not looked at
    (root / ".hidden").mkdir()
    stripes(64, 64).save(root / ".hidden" / "thumb.png")  # hidden folders (thumbnails, checkpoints) left out
    return root


def test_a_folder_becomes_a_pool_of_centre_crops(folder):
    pool = FolderPool(folder, size=32)
    assert len(pool) == 4 and [p.name for p in pool.skipped] == ["broken.png"]
    assert pool.images.dtype == torch.uint8 and pool.images.shape == (4, 3, 32, 32)
    assert "read 4 pictures" in pool.describe() and "skipped 1 that could not be read (broken.png)" in pool.describe()
    # files in sorted path order: class-a/alpha.png, class-a/deeper/grey.jpeg, class-a/photo.JPG, wide.png
    wide, photo = (pool.images[i].permute(1, 2, 0).int() for i in (3, 2))
    # the 2:1 picture is cropped to its middle half (no red left: squeezed whole, its red edges would show)
    # with the blue square in the centre
    assert wide[..., 0].max() < 20 and (wide[0] - torch.tensor(GREEN)).abs().max() < 10
    assert photo[..., 0].max() < 30  # the same from a JPEG
    assert (wide[16, 16] - torch.tensor(BLUE)).abs().max() < 60
    assert (pool.images[1] == 128).all()  # grey everywhere, in all three channels
    x = pool.sample(6, generator=torch.Generator().manual_seed(0))
    assert x.shape == (6, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("make, error, says", [
    (lambda p: None, FileNotFoundError, "no folder"),
    (lambda p: p.mkdir(), ValueError, "holds no PNG or JPEG pictures"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), ValueError, "holds no PNG or JPEG pictures"),
    (lambda p: (p.mkdir(), (p / "a.png").write_bytes(b"junk")), ValueError, "none of the 1 picture files"),
])
def test_a_folder_with_nothing_to_learn_from_is_refused(tmp_path, make, error, says):
    make(tmp_path / "empty")
    with pytest.raises(error, match=says):
        FolderPool(tmp_path / "empty")


def test_train_on_a_folder_from_the_command_line(folder, tmp_path):
    out = tmp_path / "mine"
    done = subprocess.run([sys.executable, "-m", "diffusion_course", "train", "--preset", "unet-tiny", "--steps", "3",
                           "--batch-size", "4", "--data", str(folder), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "read 4 pictures" in done.stdout and "skipped 1 that could not be read" in done.stdout
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["data"] == {"folder": str(folder.resolve()), "pictures": 4, "skipped": 1}
    assert "scene_world" not in card and card["train_config"]["data"] == str(folder)
    assert load_model(out.with_suffix(".safetensors")).config.image_size == 32
    # an empty folder: one line, status 2, nothing written
    (tmp_path / "none").mkdir()
    bad = subprocess.run([sys.executable, "-m", "diffusion_course", "train", "--preset", "unet-tiny", "--data",
                          str(tmp_path / "none"), "--out", str(tmp_path / "never")],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "holds no PNG or JPEG" in bad.stderr
    assert not list(tmp_path.glob("never*"))


def test_a_model_that_listens_cannot_train_on_pictures_without_captions(folder):
    with pytest.raises(ValueError, match="no captions or descriptions"):
        Trainer("unet-words-tiny", TrainConfig(data=str(folder)), progress=False)


def test_unet_64_trains_on_64_pixel_scenes_and_draws_64_pixel_pictures():
    model_cfg = config.preset("unet-64")
    assert model_cfg.image_size == 64
    tr = Trainer(model_cfg, TrainConfig(steps=2, batch_size=2, warmup=1, precision="fp32", pool_size=4),
                 progress=False)
    assert tr.pool.images.shape == (4, 3, 64, 64)
    assert torch.equal(tr.pool.images, scenes.ScenePool(4, size=64).images)  # the scenes, drawn at 64
    tr.run()
    assert tr.step == 2 and all(np.isfinite(tr.losses))
    x = samplers.sample(tr.ema, 1, steps=2, seed=0)
    assert x.shape == (1, 3, 64, 64) and torch.isfinite(x).all()
