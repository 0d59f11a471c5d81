"""BatchNorm statistics that belong to the weights they normalise.

An EMA generator averages the trained generator's weights, but its BatchNorm
running statistics are copied from the trained generator (the trainer copies
buffers each step): statistics of other weights than its own. A BatchNorm
network's running statistics also trail its weights by about ten steps
(momentum 0.1), which at the learning rates a few-minute budget wants is a
noticeable lag. :func:`recalibrate_batch_norm` runs the network on fresh inputs
with the statistics reset and keeps their plain average, so that inference
normalises with the statistics of the network as it is.

Measured on fastgan's 10-minute photo-crop run (``benchmarks/quality.py``,
random-conv FD of 2,000 samples): 0.406 with the copied statistics, 0.246
recalibrated, the same weights.

:class:`BatchNorm2d` is the stock layer with a faster training path on CPU for
channels-last maps whose channel count the stock kernel handles badly (the small
maps of generators trained for a few CPU minutes); generators and decoders use it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from artkit.nn.layout import layout_of
from artkit.nn.modes import train_mode

#: inputs averaged over (batches x batch size): enough that the average is stable
RECALIBRATION_INPUTS = 4096


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``net`` that keep running statistics."""
    return [
        m
        for m in net.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def recalibrate_batch_norm(
    net: nn.Module,
    make_inputs: Callable[[int], Tensor],
    *,
    inputs: int = RECALIBRATION_INPUTS,
    batch_size: int = 256,
) -> bool:
    """Reset ``net``'s BatchNorm running statistics to their average over fresh inputs.

    ``make_inputs(n)`` returns a batch of ``n`` inputs (latents for a generator).
    The network's training mode and the layers' momenta are restored afterwards;
    nothing else changes. Returns False (and does nothing) without BatchNorm layers.
    """
    layers = batch_norms(net)
    if not layers:
        return False
    momenta = [m.momentum for m in layers]
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over every batch below
        with train_mode(net):
            done = 0
            while done < inputs:
                n = min(batch_size, inputs - done)
                net(make_inputs(n))
                done += n
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
    return True


#: channel counts whose channels-last BatchNorm the stock CPU kernel handles well (it
#: vectorises across channels): fast at 16 and 48, 6-22x slower than NCHW at 6 and 12
STOCK_CHANNEL_MULTIPLE = 16
#: at most this many numbers per row of the wide view (see :class:`_WideBatchNorm`)
WIDE_ROW = 1024
#: numbers converted to float32 at a time: a block that stays in the CPU's cache
BLOCK_NUMBERS = 2**18


def _lanes(m: int, c: int) -> int:
    """Pixels per row of the wide ``(m / k, k c)`` view: the largest power of two ``k``
    that divides ``m`` with ``k c`` at most :data:`WIDE_ROW`."""
    k = 1
    while 2 * k * c <= WIDE_ROW and m % (2 * k) == 0:
        k *= 2
    return k


def _wide(t: Tensor, k: int) -> Tensor:
    """A channels-last ``(N, C, H, W)`` map as its ``(N H W / k, k C)`` matrix (a view)."""
    n, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(n * h * w // k, k * c)


def _blocks(rows: int, width: int) -> list[slice]:
    step = max(1, BLOCK_NUMBERS // width)
    return [slice(i, i + step) for i in range(0, rows, step)]


def _channel_sums(
    a: Tensor, b: Tensor | None, blocks: list[slice], k: int
) -> tuple[Tensor, Tensor]:
    """Per channel, in float64: the sum of wide matrix ``a`` and of ``a * b`` (``a * a``
    without ``b``), block by block in float32, the ``k`` pixels of a row folded."""
    total = torch.zeros(a.shape[1], dtype=torch.float64)
    products = torch.zeros(a.shape[1], dtype=torch.float64)
    for rows in blocks:
        block = a[rows].to(torch.float32, copy=True)  # multiplied in place below
        total += block.sum(0)
        products += (block.square_() if b is None else block.mul_(b[rows])).sum(0)
    return total.view(k, -1).sum(0), products.view(k, -1).sum(0)


class _WideBatchNorm(torch.autograd.Function):
    """Training-mode BatchNorm of a channels-last map with few channels, on a wide view.

    A channels-last ``(N, C, H, W)`` map is the matrix ``(N H W, C)``; read as
    ``(N H W / k, k C)`` each row holds ``k`` pixels, so a channel's sum is a column
    sum of a wide matrix (then ``k`` partial sums added) and the affine map a
    broadcast of a ``k C`` vector: both vectorise. The work goes block by block of
    rows, each converted to float32 while it is in cache, so the map is read from
    memory about twice and written once per pass. Sums are float32 within a block
    and float64 across blocks; the variance is E[x^2] - mean^2 in float64.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, eps: float):  # type: ignore[override]
        n, c, h, w = x.shape
        m = n * h * w
        k = _lanes(m, c)
        rows = _wide(x, k)
        blocks = _blocks(*rows.shape)
        total, squares = _channel_sums(rows, None, blocks, k)
        mean = total / m
        var = (squares / m - mean.square()).clamp_min(0)
        invstd = (var + eps).rsqrt().float()
        mean, var = mean.float(), var.float()
        scale = invstd * weight.float()
        shift_k, scale_k = (bias.float() - mean * scale).repeat(k), scale.repeat(k)
        y = torch.empty_like(rows)
        for b in blocks:
            y[b] = torch.addcmul(shift_k, rows[b].float(), scale_k)
        ctx.save_for_backward(x, mean, invstd, weight)
        ctx.lanes = k
        ctx.mark_non_differentiable(mean, var)
        return y.view(n, h, w, c).permute(0, 3, 1, 2), mean, var

    @staticmethod
    @once_differentiable  # G's layers: nothing takes a gradient of their gradient
    def backward(ctx, grad: Tensor, _mean: Tensor, _var: Tensor):  # type: ignore[override]
        x, mean, invstd, weight = ctx.saved_tensors
        n, c, h, w = x.shape
        m, k = n * h * w, ctx.lanes
        rows = _wide(x, k)
        g_rows = _wide(grad.contiguous(memory_format=torch.channels_last), k)
        blocks = _blocks(*rows.shape)
        sum_g, sum_gx = (s.float() for s in _channel_sums(g_rows, rows, blocks, k))
        sum_g_centred = sum_gx - mean * sum_g
        a = weight.float() * invstd
        # dx = a (g - mean(g) - xhat mean(g xhat)), xhat = (x - mean) invstd: a g + b x + c
        b_x = -a * invstd.square() * sum_g_centred / m
        c_0 = -a * sum_g / m - b_x * mean
        a_k, b_k, c_k = a.repeat(k), b_x.repeat(k), c_0.repeat(k)
        grad_x = torch.empty_like(g_rows)
        for b in blocks:
            block = torch.addcmul(c_k, g_rows[b].float(), a_k)
            grad_x[b] = block.addcmul_(rows[b].float(), b_k)
        grad_x = grad_x.view(n, h, w, c).permute(0, 3, 1, 2)
        grad_weight = (sum_g_centred * invstd).to(weight.dtype)
        return grad_x, grad_weight, sum_g.to(weight.dtype), None


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d``, faster in training on channels-last CPU maps with few channels.

    The stock CPU kernel for a channels-last map vectorises across channels; with a
    channel count that is not a multiple of :data:`STOCK_CHANNEL_MULTIPLE` it is slow
    (fastgan's 64x12x64x64 map: 41-46 ms forward + backward in bf16, 6.4 ms in NCHW).
    There :class:`_WideBatchNorm` does the same arithmetic. Same parameters, buffers
    and state-dict keys as the stock layer and the same running-statistics update
    (momentum, or a cumulative average with ``momentum=None``); everything else
    (eval mode, NCHW, GPUs) is the stock layer. Its gradient cannot be
    differentiated again, so it belongs in generators and decoders, not in a
    discriminator that R1 or WGAN-GP differentiate twice.
    """

    def forward(self, x: Tensor) -> Tensor:
        routed = (
            self.training
            and self.affine
            and x.device.type == "cpu"
            and layout_of(x) == torch.channels_last
            and x.dtype in (torch.float32, torch.bfloat16)
            and x.shape[1] % STOCK_CHANNEL_MULTIPLE != 0
            and x.shape[0] * x.shape[2] * x.shape[3] > 1
        )
        if not routed:
            return super().forward(x)
        y, mean, var = _WideBatchNorm.apply(x, self.weight, self.bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else self.momentum
                )
                m = x.numel() // x.shape[1]
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                unbiased = var * (m / (m - 1))
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        return y
