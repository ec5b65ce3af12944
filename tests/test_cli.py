"""The command line: bad input gets one line on stderr and exit status 2, and nothing is written or deleted; a run
goes to runs/ and a shipped file in data/ is replaced only when the command is told --force."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from diffusion_course import load_model, shipped
from diffusion_course.cli import main, parser
from diffusion_course.cli import train as train_command
from diffusion_course.cli.arguments import number
from diffusion_course.diffusion.training import mean_tail

BAD = {
    "unknown preset": (["train", "--preset", "nope"], "unknown model preset 'nope'; known presets: unet-tiny"),
    "unknown training preset": (["train", "--preset", "unet-tiny", "--train", "nope"],
                                "unknown training preset 'nope'; known: quick"),
    "bad precision": (["train", "--precision", "fp8"], "invalid choice: 'fp8'"),
    "no training steps": (["train", "--preset", "unet-tiny", "--steps", "0"], "--steps: must be at least 1, got 0"),
    "steps not a number": (["train", "--steps", "many"], "--steps: invalid int value: 'many'"),
    "no learning rate": (["train", "--lr", "-0.001"], "--lr: must be above 0, got -0.001"),
    "no minutes": (["train", "--minutes", "0"], "--minutes: must be above 0, got 0"),
    "eta out of range": (["train", "--eta", "2"], "--eta: must be at least 0 and at most 1, got 2"),
    "unknown model": (["sample", "--model", "nope"], "no pretrained model 'nope'"),
    "missing file": (["sample", "--model", "gone.safetensors"], "no checkpoint at gone.safetensors"),
    "the judge does not draw": (["sample", "--model", "judge"], "'judge' is the scene judge"),
    "no images": (["sample", "-n", "0"], "n (the number of images) must be a whole number >= 1"),
    "no sampling steps": (["sample", "--steps", "0"], "steps must be a whole number from 1 to 1000"),
    "judge without steps": (["judge", "--steps", "0"], "--steps: must be at least 1, got 0"),
    "judge with negative steps": (["judge", "--steps", "-5"], "--steps: must be at least 1, got -5"),
    "unknown command": (["paint"], "invalid choice: 'paint'"),
    "guidance with nothing to say": (["sample", "--cfg", "3"], "guidance needs something to say"),
    "a model that does not listen": (["sample", "--prompt", "a blue pup"], "does not listen to words"),
    "negative guidance": (["sample", "--prompt", "a blue pup", "--cfg", "-1"], "--cfg: must be at least 0, got -1"),
    "no such picture folder": (["train", "--preset", "unet-tiny", "--data", "nowhere"],
                               "no folder nowhere: pass --data a folder of PNG or JPEG pictures"),
    "pictures have no captions": (["train", "--preset", "unet-words-tiny", "--data", "."],
                                  "a folder of pictures has no captions or descriptions"),
    "pictures have no descriptions": (["train", "--preset", "template-labels-tiny", "--data", "."],
                                      "a folder of pictures has no captions or descriptions"),
    "a GAN's rival must draw unconditionally": (["gan", "--against", "unet-labels"],
                                                "--against takes an unconditional pixel denoiser preset"),
    "unknown autoencoder preset": (["autoencoder", "--preset", "ae-huge"], "unknown autoencoder preset 'ae-huge'"),
    "autoencoder without steps": (["autoencoder", "--steps", "0"], "--steps: must be at least 1, got 0"),
    "the autoencoder does not draw": (["sample", "--model", "ae-scenes"], "'ae-scenes' is an autoencoder"),
    "two kinds of guidance": (["sample", "--model", "unet-words", "--prompt", "a blue pup", "--cfg", "2",
                               "--clip-guidance", "30"], "choose one kind of guidance"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_status_2(case, tmp_path, monkeypatch, capsys):
    argv, says = BAD[case]
    monkeypatch.chdir(tmp_path)
    kept = tmp_path / "kept.txt"
    kept.write_text("mine")
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert list(tmp_path.iterdir()) == [kept] and kept.read_text() == "mine"  # nothing written, nothing deleted


def test_the_real_command_says_one_line_and_debug_shows_the_traceback(tmp_path):
    def run(*argv):
        return subprocess.run([sys.executable, "-m", "diffusion_course", *argv], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)

    plain = run("train", "--preset", "nope")
    assert plain.returncode == 2 and plain.stderr.startswith("error: unknown model preset 'nope'")
    assert "Traceback" not in plain.stderr
    debug = run("--debug", "train", "--preset", "nope")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "KeyError" in debug.stderr
    assert list(tmp_path.iterdir()) == []


def test_number_arguments_keep_to_their_range():
    eta = number(float, 0, 1)
    assert eta("0") == 0.0 and eta("0.5") == 0.5 and eta("1") == 1.0
    for bad in ("-0.1", "1.5", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match="at least 0 and at most 1"):
            eta(bad)
    assert number(int, 1)("3") == 3
    with pytest.raises(ValueError):  # not a number at all: argparse reports "invalid int value"
        number(int, 1)("3.5")


def test_mean_of_the_last_values_uses_what_there_is():
    assert mean_tail([4.0, 2.0], 100) == 3.0  # two losses: their mean, not their sum / 100
    assert mean_tail([1.0, 2.0, 3.0, 5.0], 2) == 4.0
    assert mean_tail([], 5) != mean_tail([], 5)  # nan: nothing to average


def test_sample_draws_what_it_is_told_with_either_kind_of_guidance(tmp_path, capsys):
    for argv in (["--model", "unet-words", "--prompt", "the pup sitting in a rocket", "--cfg", "2"],
                 ["--model", "unet-scenes", "--prompt", "the pup beside a rocket", "--clip-guidance", "10"]):
        out = tmp_path / f"{argv[1]}.png"
        main(["sample", *argv, "-n", "2", "--steps", "3", "--out", str(out)])
        assert out.exists() and out.stat().st_size > 0
    assert capsys.readouterr().out.count("wrote") == 2


def files_under(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``root``, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A stand-in for data/ with fake shipped files (never the real ones), and the working folder beside it."""
    root = tmp_path / "data"
    (root / "clip-scenes").mkdir(parents=True)
    (root / "clip-scenes" / "card.json").write_text("{}")
    for name in ("unet-scenes.safetensors", "unet-scenes.json", "judge-rejected.png", "gan-scenes.json",
                 "ae-scenes.png"):
        (root / name).write_bytes(b"shipped " + name.encode())
    monkeypatch.setattr(shipped, "DATA_DIR", root)
    monkeypatch.chdir(tmp_path)
    return root


OVER_SHIPPED = {  # each command that writes weights, aimed at a file that is shipped, and the file it names
    "train": (["train", "--preset", "unet-tiny", "--steps", "1", "--out", "data/unet-scenes"],
              "unet-scenes.safetensors"),
    "judge": (["judge", "--steps", "1", "--out", "data/judge"], "judge-rejected.png"),
    "clip": (["clip", "--steps", "1", "--out", "data/clip-scenes"], "clip-scenes"),
    "gan": (["gan", "--steps", "1", "--out", "data/gan-scenes"], "gan-scenes.json"),
    "autoencoder": (["autoencoder", "--steps", "1", "--out", "data/ae-scenes"], "ae-scenes.png"),
}


@pytest.mark.parametrize("command", sorted(OVER_SHIPPED))
def test_a_shipped_file_is_not_replaced_without_force_and_nothing_is_written(command, data, tmp_path, capsys):
    argv, named = OVER_SHIPPED[command]
    before = files_under(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: data/{named} is shipped with the course"), lines
    assert "--force" in lines[0] and f"--out runs/{Path(argv[-1]).name}" in lines[0]
    assert files_under(tmp_path) == before  # every shipped byte kept, no run folder, no runs/, no progress file


def test_runs_go_to_runs_by_default(capsys):
    assert parser().parse_args(["judge"]).out == str(Path("runs") / "judge")
    assert parser().parse_args(["clip"]).out == str(Path("runs") / "clip-scenes")
    for command, default in (("train", "runs/PRESET"), ("autoencoder", "runs/PRESET"), ("gan", "runs/gan-scenes")):
        assert parser().parse_args([command]).out is None and not parser().parse_args([command]).force
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"(default {default})" in " ".join(capsys.readouterr().out.split())  # (train: also run below)


def test_train_writes_to_runs_resumes_there_and_replaces_a_shipped_file_only_with_force(data, tmp_path, monkeypatch,
                                                                                         capsys):
    monkeypatch.setattr(train_command, "sample_grid", lambda model, eta: torch.zeros(4, 3, 32, 32))  # (64 DDIM-50
    # drawings are the run's slowest part, and not what is tested here)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for k in range(4):
        Image.new("RGB", (32, 32), (60 * k, 100, 200)).save(pictures / f"{k}.png")
    quick = ["train", "--preset", "unet-tiny", "--steps", "1", "--batch-size", "4", "--precision", "fp32",
             "--data", str(pictures)]
    shipped_bytes = files_under(data)
    main(quick)  # no --out: runs/unet-tiny
    written = {"unet-tiny.safetensors", "unet-tiny.json", "unet-tiny.png", "unet-tiny.run/state.safetensors"}
    assert written <= set(files_under(tmp_path / "runs"))
    main(quick)  # the same command again: a run of your own resumes (here, already complete) and is written again
    assert "resuming at step 1" in capsys.readouterr().out
    assert files_under(data) == shipped_bytes

    main([*quick, "--out", "data/unet-scenes", "--force"])  # told: the shipped file is replaced
    assert load_model(data / "unet-scenes.safetensors").config.channels == (16, 32, 32)
    assert json.loads((data / "unet-scenes.json").read_text())["preset"] == "unet-tiny"
