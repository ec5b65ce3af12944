"""One copy of a small training run, for tests/test_distributed.py to start under torchrun.

    torchrun --standalone --nproc-per-node 2 tests/distributed_worker.py RUN_DIR PRESET BATCH STEPS [KILL_AT]

Trains PRESET on a small scene pool with a per-process batch BATCH up to step STEPS (resuming from
RUN_DIR/state.safetensors when it is there); rank 0 writes the state every CHECKPOINT_EVERY steps, as
the CLI's runs do. With KILL_AT, rank 1 kills itself (SIGKILL, no clean-up) when it reaches that step.
"""
import os
import signal
import sys

import torch

from diffusion_course import scenes
from diffusion_course.config import TrainConfig
from diffusion_course.diffusion import distributed
from diffusion_course.diffusion.training import Trainer

POOL, WARMUP, CHECKPOINT_EVERY = 64, 2, 2


def recipe(batch: int, steps: int = 8) -> TrainConfig:
    """The recipe the test compares: fp32 (bit-level arithmetic, not the CPU's bf16), a short warm-up."""
    return TrainConfig(steps=steps, batch_size=batch, warmup=WARMUP, precision="fp32", pool_size=POOL,
                       checkpoint_every=CHECKPOINT_EVERY)


if __name__ == "__main__":
    run_dir, preset, batch, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    kill_at = int(sys.argv[5]) if len(sys.argv) > 5 else None
    torch.set_num_threads(1)
    try:
        trainer = Trainer(preset, recipe(batch), run_dir=run_dir, pool=scenes.ScenePool(POOL), progress=False)
        if kill_at is not None and trainer.world.rank == 1:
            take_step = trainer.train_step

            def take_step_then_die() -> float:
                loss = take_step()
                if trainer.step == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return loss

            trainer.train_step = take_step_then_die
        trainer.run(steps=steps)
        print(f"rank {trainer.world.rank} of {trainer.world.size}: step {trainer.step}, "
              f"loss {trainer.losses[-1]:.6f}", flush=True)
    finally:
        distributed.leave()
