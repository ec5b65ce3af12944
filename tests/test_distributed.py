"""Training under torchrun: two CPU processes (gloo on loopback) with batch b take the steps one process
with batch 2b takes; a run stopped part-way resumes, on two processes or on one; only rank 0 writes; a
checkpoint written by two processes loads on one CPU; the GPU path where there is a GPU."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from diffusion_course import load_model, scenes
from diffusion_course.config import TrainConfig
from diffusion_course.diffusion import checkpoints, distributed, samplers
from diffusion_course.diffusion.training import Trainer

sys.path.insert(0, str(Path(__file__).parent))
from distributed_worker import CHECKPOINT_EVERY, POOL, recipe

from diffusion_course import shipped

WORKER = Path(__file__).parent / "distributed_worker.py"
BATCH, STEPS, KILL_AT = 4, 4, 3  # per process; the single process has 2 x BATCH
# float tolerance: the two copies' gradients are summed in another order than one process sums its batch
# (measured: 4e-7 after 3 steps of unet-tiny, weights of order 1)
ATOL = 1e-5


def torchrun(*argv: str, processes: int = 2, fails: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc-per-node={processes}", *argv], capture_output=True, text=True, env=env,
                          timeout=600)
    assert (done.returncode != 0) == fails, done.stdout + done.stderr
    return done


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = load_file(run_dir / "state.safetensors")
    return {k: v for k, v in state.items() if k.startswith(("model.", "ema."))}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert worst < ATOL, worst


@pytest.fixture
def one_thread():
    """One thread, as each torchrun copy has (OMP_NUM_THREADS=1), so that the sums run in the same order;
    restored afterwards: the thread count changes float results of every later test in this process."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("preset", ["unet-tiny", "dit-words-tiny"])
def test_two_processes_with_batch_b_train_as_one_with_batch_2b_and_resume(preset, tmp_path, one_thread):
    one = Trainer(preset, recipe(2 * BATCH), run_dir=tmp_path / "one", pool=scenes.ScenePool(POOL), progress=False)
    one.run(steps=STEPS)

    two = tmp_path / "two"
    killed = torchrun(str(WORKER), str(two), preset, str(BATCH), str(STEPS), str(KILL_AT), fails=True)
    assert "SIGKILL" in killed.stderr  # rank 1 was killed after step 3; rank 0 saved step 2 (the last
    # checkpoint) or step 3 (when the broken connection stopped it before torchrun did): both resume exactly
    shutil.copytree(two, tmp_path / "half")
    said = torchrun(str(WORKER), str(two), preset, str(BATCH), str(STEPS)).stdout  # resumed
    assert f"rank 1 of 2: step {STEPS}" in said and f"rank 0 of 2: step {STEPS}" in said
    assert_same_weights(weights(two), weights(tmp_path / "one"))

    # the same half-way state, resumed by one process with the same global batch
    alone = Trainer(preset, recipe(2 * BATCH), run_dir=tmp_path / "half", pool=scenes.ScenePool(POOL),
                    progress=False)
    assert CHECKPOINT_EVERY <= alone.step <= KILL_AT
    alone.run(steps=STEPS)
    assert alone.losses == pytest.approx(one.losses, rel=1e-4)
    assert_same_weights(weights(tmp_path / "half"), weights(tmp_path / "one"))

    # with another global batch it would not continue the same run: refused, saying what to pass
    with pytest.raises(shipped.CheckpointError, match=rf"global batch of {2 * BATCH} .*--batch-size {2 * BATCH}"):
        Trainer(preset, recipe(BATCH), run_dir=tmp_path / "half", pool=scenes.ScenePool(POOL), progress=False)


def test_the_readme_command_trains_on_two_cpu_processes_and_its_checkpoint_loads_on_one(tmp_path):
    out = tmp_path / "unet-tiny"
    done = torchrun("-m", "diffusion_course", "train", "--preset", "unet-tiny", "--steps", "20", "--out", str(out))
    # rank 0 alone speaks and writes
    assert done.stdout.count("unet-tiny: 208,883 parameters, 20 steps, batch 64 x 2 processes") == 1, done.stdout
    assert done.stdout.count("wrote ") == 1
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["processes"] == 2 and card["steps"] == 20 and card["complete"]
    assert card["command"].startswith("torchrun --nproc-per-node 2 -m diffusion_course train --preset unet-tiny")
    model = load_model(out.with_suffix(".safetensors"), "cpu")
    x = samplers.sample(model, 2, steps=5, seed=0)
    assert x.shape == (2, 3, 32, 32) and torch.isfinite(x).all()


def test_only_rank_0_writes_and_shows_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")  # a second copy, in everything but the process group
    tr = Trainer("unet-tiny", recipe(2), run_dir=tmp_path / "run", pool=scenes.ScenePool(8), progress=True)
    assert tr.world == distributed.World(rank=1) and not tr.progress
    tr.run(steps=2)
    assert tr.step == 2 and not (tmp_path / "run").exists()
    monkeypatch.setenv("RANK", "0")
    tr = Trainer("unet-tiny", recipe(2), run_dir=tmp_path / "run", pool=scenes.ScenePool(8), progress=True)
    assert tr.progress
    tr.run(steps=2)
    assert (tmp_path / "run" / "state.safetensors").exists()


def test_the_world_outside_torchrun_is_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    here = distributed.world()
    assert here == distributed.World() and here.main and here.rows(8) == slice(0, 8)
    model = torch.nn.Linear(2, 2)
    assert here.wrap(model) is model and here.mean(torch.tensor(3.0)) == 3.0
    monkeypatch.setenv("RANK", "1"), monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.world().rows(8) == slice(8, 16) and not distributed.world().main


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the course never does)")
def test_training_on_the_gpu_uses_it_and_its_checkpoint_loads_on_the_cpu(tmp_path):
    tr = Trainer("unet-tiny", TrainConfig(steps=3, batch_size=8, warmup=1, precision="auto"),
                 run_dir=tmp_path / "run", pool=scenes.ScenePool(16), progress=False).run()
    assert tr.device.type == "cuda" and next(tr.model.parameters()).is_cuda
    assert tr.autocast_dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else None)
    path = checkpoints.save_model(tmp_path / "gpu", tr.ema)
    x = samplers.sample(load_model(path, "cpu"), 2, steps=3, seed=0)
    assert torch.isfinite(x).all()
