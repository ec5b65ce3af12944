"""The eye-calibration set: labels by eye, and the judge's agreement with them computed from the file."""
import json

import pytest
import torch

from diffusion_course import load_pretrained
from diffusion_course.judging import calibration, metrics
from diffusion_course.shipped import DATA_DIR


def test_the_shipped_set_matches_its_note():
    sets = calibration.load()
    note = json.loads((DATA_DIR / "eye-calibration.json").read_text())
    assert list(sets) == list(calibration.SETS) == list(note["labels"])
    for name, (x, eye) in sets.items():
        assert x.shape == (calibration.PER_SET, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
        assert "".join(str(int(v)) for v in eye) == note["labels"][name]


def test_agreement_is_computed_from_the_labels():
    judge = load_pretrained("judge")
    sets = calibration.load()
    out = calibration.agreement(judge, sets)
    for name, (x, eye) in sets.items():
        judged = metrics.recognisable(judge, x).float()
        assert out[name]["all"]["eye_clean"] == pytest.approx(eye.float().mean().item())
        assert out[name]["all"]["judge_recognisable"] == pytest.approx(judged.mean().item())
        assert out[name]["all"]["agree"] == pytest.approx((judged == eye.float()).float().mean().item())
    # flipping every eye label turns agreement a into 1 - a
    flipped = {k: (x, ~eye) for k, (x, eye) in sets.items()}
    out2 = calibration.agreement(judge, flipped)
    for name in sets:
        assert out2[name]["all"]["agree"] == pytest.approx(1 - out[name]["all"]["agree"])


# sets on which the judge is known to miss the eye by more than 3 points, and what the eye sees that it does not
JUDGE_MISSES = {"latent-dit": "judge 58 of 64 recognisable, eye 54 clean (+6 points, 2026-12-07): the judge passes "
                              "a crescent with a spur, a moon with a stalk, lopsided fins, a lumpy rocket and a streak "
                              "in the sky, which re-draw with fidelity 0.88-0.98; the judge needs a finer eye there"}


@pytest.fixture(scope="module")
def agreement():
    return calibration.agreement(load_pretrained("judge"))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=JUDGE_MISSES[n]))
                                  if n in JUDGE_MISSES else n for n in calibration.SETS])
def test_the_judge_agrees_with_the_eye_within_3_points(name, agreement):
    assert abs(agreement[name]["all"]["gap_points"]) <= 3.0 + 1e-6, agreement[name]["all"]


def test_a_missing_file_says_where_it_should_be(tmp_path):
    with pytest.raises(FileNotFoundError, match="eye-calibration"):
        calibration.load(tmp_path / "eye-calibration.safetensors")
    assert torch.is_tensor(calibration.load()["unet-scenes"][0])


def test_an_unknown_set_is_refused_before_anything_is_drawn():
    with pytest.raises(ValueError, match="unknown eye-calibration sets"):
        calibration.make(names=("unet-scenes", "warp drive"), draw=lambda *a, **k: pytest.fail("drew"))
