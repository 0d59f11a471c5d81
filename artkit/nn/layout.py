"""Which memory layout a tensor is stored in, for layers that keep it.

On CPU artkit trains conv networks channels-last; a few layers (:mod:`artkit.nn.glu`,
:mod:`artkit.nn.small_conv`, :mod:`artkit.nn.batch_norm`) take their own path on such
maps and must produce results in the same layout. A stock kernel handed one map in
each layout takes a slow strided path, so :func:`leading_rows` keeps a slice's
gradient in its map's layout.
"""

from __future__ import annotations

import torch
from torch import Tensor


def layout_of(x: Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a 4-d tensor stored only that way, else ``contiguous_format``."""
    if (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


class _LeadingRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, n: int) -> Tensor:  # type: ignore[override]
        ctx.rest, ctx.layout = x.shape[0] - n, layout_of(x)
        return x[:n]

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        if ctx.rest == 0:
            return grad, None
        grad = grad.contiguous(memory_format=ctx.layout)
        zeros = grad.new_zeros((ctx.rest, *grad.shape[1:])).contiguous(memory_format=ctx.layout)
        return torch.cat([grad, zeros]), None  # differentiable: R1 may take it twice


def leading_rows(x: Tensor, n: int) -> Tensor:
    """``x[:n]``, with the gradient for ``x`` in ``x``'s own layout.

    aten's slice backward writes into zeros in the default layout: meeting the
    channels-last gradient from another branch of a network (fastgan's D decodes
    the first rows of the features its head also judges) it sent the LeakyReLU
    backward before them down a strided path, 1.2 ms against 0.07 ms for a bf16
    128x48x8x8 map on 2 cores.
    """
    if not x.requires_grad or layout_of(x) is torch.contiguous_format:
        return x[:n]
    return _LeadingRows.apply(x, n)
