"""The environment the course promises: exact pins, the torch/torchvision pair, offline."""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(lines):
    return {l.split("==")[0].strip().lower(): l.split("==")[1].strip()
            for l in (x.strip().lstrip("- ").strip() for x in lines) if "==" in l and not l.startswith("#")}


def test_every_direct_dependency_is_pinned_exactly():
    lines = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert lines, "requirements.txt is empty"
    loose = [l for l in lines if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.+\-]*", l)]
    assert not loose, f"not pinned with ==: {loose}"
    names = pins(lines)
    for needed in ["torch", "torchvision", "open_clip_torch", "ipywidgets", "nbval", "safetensors", "einops"]:
        assert needed in names
    assert names["torch"] == "2.14.1" and names["torchvision"] == "0.29.1"


def test_environment_yml_has_the_same_pins():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    yml = pins(l for l in (ROOT / "environment.yml").read_text().splitlines() if "==" in l)
    assert yml == req


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pins((ROOT / "requirements.txt").read_text().splitlines()).items():
        assert version(name).split("+")[0] == pinned, name


def test_open_clip_and_torchvision_import_together():
    import open_clip
    import torch
    import torchvision

    # the known failure of a mismatched pair is a missing torchvision operator
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.9]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]
    assert "ViT-B-32" in open_clip.list_models()


def test_tests_run_offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
