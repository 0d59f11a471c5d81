"""torchrun support: detect WORLD_SIZE, start the process group, tell who writes.

Under ``torchrun --nproc-per-node N artkit train ...`` every process runs the
same command; the trainer wraps the trained networks in DistributedDataParallel
(NCCL on GPUs, gloo on CPU), each rank reads its own shard of every epoch
(DistributedSampler) and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def init_world(device: torch.device) -> World:
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return World(rank=rank, size=size, local_rank=local)


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        # every rank reaches here before the group goes: a rank that tore gloo down
        # while rank 0 was still saving was seen to abort at exit ("terminate called
        # without an active exception"), once in a few CI runs
        with contextlib.suppress(RuntimeError):
            dist.barrier()
        dist.destroy_process_group()


def all_flag(world: World, flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any rank (stop signals, NaN stops)."""
    if not world.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
