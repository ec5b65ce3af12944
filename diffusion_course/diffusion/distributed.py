"""Training on several processes with the standard engine: ``torch.distributed``, launched by ``torchrun``.

    torchrun --nproc-per-node 2 -m diffusion_course train --preset unet-tiny --steps 20

``torchrun`` starts N copies of the same command and tells each its place in the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``). Each copy joins one process group (``gloo`` on CPU, ``nccl``
on GPU) and wraps its model in ``DistributedDataParallel``, which averages the gradients of all copies
during every backward pass (Li et al. 2020, "PyTorch Distributed").

The data is sharded per step: every copy starts from the same seed and draws the same *global* batch of
N x ``batch_size`` images, noise levels and noises, then trains on its own ``batch_size`` rows of it. The
average of the copies' gradients is then the gradient of the global batch, so N processes with batch b
take the steps one process with batch N b takes, up to the order of float additions (a test checks it).
Only rank 0 writes checkpoints, cards, sample grids and progress bars; every copy resumes from the same
checkpoint, which holds plain (unwrapped) weights and so loads on one CPU.

Outside ``torchrun`` there is one process: ``World()``, rank 0 of 1, and nothing here does anything.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class World:
    """This process's place among the copies ``torchrun`` started."""

    rank: int = 0  # which copy this is, 0 .. size - 1
    size: int = 1  # how many copies train together
    local_rank: int = 0  # which copy on this machine (its GPU, where there are GPUs)

    @property
    def main(self) -> bool:
        """Rank 0: the copy that writes files and shows progress."""
        return self.rank == 0

    def rows(self, per_rank: int) -> slice:
        """This copy's rows of a global batch of ``size`` x ``per_rank``."""
        return slice(self.rank * per_rank, (self.rank + 1) * per_rank)

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a tensor over all copies (the value itself for one process)."""
        if self.size == 1:
            return value
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.size

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train: ``model`` itself, or a DistributedDataParallel around it."""
        if self.size == 1:
            return model
        on_gpu = next(model.parameters()).device.type == "cuda"
        return DistributedDataParallel(model, device_ids=[self.local_rank] if on_gpu else None)


def world() -> World:
    """This process's ``World``, as ``torchrun`` describes it in the environment."""
    env = os.environ
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def device(here: World) -> torch.device:
    """The device for this copy: its own GPU where there are GPUs, else the CPU."""
    return torch.device("cuda", here.local_rank) if torch.cuda.is_available() else torch.device("cpu")


def join(here: World, on: torch.device) -> None:
    """Join the process group of the copies (once; a no-op for one process): nccl for GPUs, gloo for CPUs."""
    if here.size == 1 or dist.is_initialized():
        return
    if on.type == "cuda":
        torch.cuda.set_device(on)
    dist.init_process_group("nccl" if on.type == "cuda" else "gloo")


def leave() -> None:
    """Leave the process group, if this process joined one, once every copy has come here. A
    DistributedDataParallel still alive after this aborts its process at exit ("terminate called without
    an active exception"), so the trainer lets go of it when ``run`` ends and the collector sweeps it here."""
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
