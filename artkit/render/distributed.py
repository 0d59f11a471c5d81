"""Sharing the machine: CPU threads beside the encoders, and the torchrun process group."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def cpu_threads_shared(device: Any, workers: int) -> Iterator[None]:
    """On a CPU, leave cores to the encoding threads while torch generates.

    Torch's intra-op threads spin while they wait; with PNG encoders running beside
    them on every core they are descheduled mid-spin and generation slows down
    several-fold. Half the cores for torch measured best on a 2-core machine
    (``benchmarks/render.py``: 1 torch thread + 2 encoders 624 img/s, 2 + 2 415 img/s).
    An explicit ``OMP_NUM_THREADS`` is respected.
    """
    import torch

    if device.type != "cpu" or "OMP_NUM_THREADS" in os.environ or workers < 1:
        yield
        return
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, cores // 2)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Group:
    """The torchrun process group of a render: one barrier at the end, then closed."""

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def start_group(device: Any) -> _Group:
    """A process group for the end-of-render barrier (gloo on CPU; long timeout: shards differ)."""
    from datetime import timedelta

    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(hours=48))
    return _Group()
