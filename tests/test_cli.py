"""The command line: bad input gets one line on stderr and exit status 2, and nothing is written."""
import subprocess
import sys

import pytest

from diffusion_course.training import mean_tail

BAD = {
    "unknown preset": (["train", "--preset", "nope"], "unknown model preset 'nope'; known presets: unet-tiny"),
    "unknown training preset": (["train", "--preset", "unet-tiny", "--train", "nope"], "unknown training preset"),
    "bad precision": (["train", "--precision", "fp8"], "invalid choice: 'fp8'"),
    "unknown model": (["sample", "--model", "nope"], "no pretrained model 'nope'"),
    "no images": (["sample", "-n", "0"], "n (the number of images) must be a whole number >= 1"),
    "no steps": (["sample", "--steps", "0"], "steps must be a whole number from 1 to 1000"),
    "judge without steps": (["judge", "--steps", "0"], "--steps must be at least 1"),
    "unknown command": (["paint"], "invalid choice: 'paint'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_status_2(case, tmp_path):
    argv, says = BAD[case]
    out = subprocess.run([sys.executable, "-m", "diffusion_course", *argv], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_debug_shows_the_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "diffusion_course", "--debug", "train", "--preset", "nope"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode != 0 and "Traceback" in out.stderr and "KeyError" in out.stderr


def test_mean_of_the_last_values_uses_what_there_is():
    assert mean_tail([4.0, 2.0], 100) == 3.0  # two losses: their mean, not their sum / 100
    assert mean_tail([1.0, 2.0, 3.0, 5.0], 2) == 4.0
    assert mean_tail([], 5) != mean_tail([], 5)  # nan: nothing to average
