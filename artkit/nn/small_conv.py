"""Convolutions on small maps as one matrix product (CPU).

DCGAN-style networks meet their widest layers at their smallest maps: a
discriminator's 8x8 -> 4x4 conv (256 -> 512 channels) and a generator's
4x4 -> 8x8 transposed conv. On a CPU, oneDNN's bf16 backward for these shapes
runs at a fifth of the machine's matrix rate: about a quarter of a DCGAN 64 px
training step went to these two layers (torch.profiler, 2-core AMX Xeon). The
same arithmetic as one im2col gather plus one matrix product (and the adjoint
scatter) keeps it in the BLAS kernels that do reach that rate.

:class:`Conv4x4s2` and :class:`ConvTranspose4x4s2` are ``nn.Conv2d`` /
``nn.ConvTranspose2d`` with kernel 4, stride 2, padding 1: the same parameters
and state-dict keys (checkpoints load either way), the same values up to float
rounding. They take the matrix path only where it was measured faster -- CPU
tensors with a map side of at most :data:`MAX_SIDE` and at least
:data:`MIN_CHANNELS_PRODUCT` channel pairs -- and fall back to the stock layer
everywhere else (GPUs included).

:class:`SeedConvTranspose` is the same idea for a generator's first layer, a
transposed conv from a 1x1 latent to the seed map (fastgan's): on that input it is
a dense layer and runs as one matrix product, on any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.nn.batch_norm import BatchNorm2d
from artkit.nn.glu import GLU
from artkit.nn.layout import layout_of

#: the largest small side (the conv's output, the transposed conv's input) routed here
MAX_SIDE = 4
#: the fewest C_in x C_out routed here. Fwd + bwd of an 8 -> 4 conv, bf16, batch 64
#: (128 in brackets), stock vs matrix, ms: 48 -> 96 2.1 vs 3.2 (3.1 vs 4.2); 128 -> 256
#: 8.6 vs 8.9 (15.9 vs 13.8); 256 -> 512 47 vs 26 (99 vs 41). oneDNN does well until
#: its kernel changes between those last two.
MIN_CHANNELS_PRODUCT = 256 * 256


def _compute_dtype(x: Tensor) -> torch.dtype:
    """bf16 under CPU autocast (as the stock layer would run), else the input's dtype."""
    if torch.is_autocast_enabled("cpu"):
        return torch.get_autocast_dtype("cpu")
    return x.dtype


def _patches(padded: Tensor, out: int) -> Tensor:
    """(N, H+2, W+2, C) -> (N, out, out, 4, 4, C): every output pixel's 4x4 window (a view)."""
    n, _, _, c = padded.shape
    s_n, s_h, s_w, s_c = padded.stride()
    return padded.as_strided((n, out, out, 4, 4, c), (s_n, 2 * s_h, 2 * s_w, s_h, s_w, s_c))


def _scatter(cols: Tensor, n: int, side: int, c: int) -> Tensor:
    """The adjoint of :func:`_patches` then crop: sum each window back into an (N, side, side, C) map."""
    cols = cols.view(n, side // 2, side // 2, 4, 4, c)
    padded = cols.new_zeros(n, side + 2, side + 2, c)
    for ky in range(4):
        for kx in range(4):
            padded[:, ky : ky + side : 2, kx : kx + side : 2] += cols[:, :, :, ky, kx]
    return padded[:, 1:-1, 1:-1]


def _gather(x_nhwc: Tensor, out: int) -> Tensor:
    """(N, 2 out, 2 out, C) -> im2col rows (N out out, 16 C), padding 1."""
    padded = F.pad(x_nhwc, (0, 0, 1, 1, 1, 1))
    return _patches(padded, out).reshape(x_nhwc.shape[0] * out * out, -1)


def _matrix(weight: Tensor) -> Tensor:
    """The kernel as a (C_first, 16 C_second) matrix, columns in the window order of :func:`_patches`.

    A conv weight (C_out, C_in, 4, 4) windows C_in; a transposed conv's (C_in, C_out,
    4, 4) is the weight of the conv it is the adjoint of, which windows C_out: in both
    the window's channels are dim 1. A free view of a channels-last weight (as the
    trainer keeps them on CPU); anything else is copied.
    """
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)


def _unmatrix(grad: Tensor, weight_shape: torch.Size) -> Tensor:
    """The inverse of :func:`_matrix`: a (C_first, 16 C_second) gradient in the weight's shape."""
    first, second = weight_shape[0], weight_shape[1]
    return grad.view(first, 4, 4, second).permute(0, 3, 1, 2)


class _Conv(torch.autograd.Function):
    """y = im2col(x) @ W: conv 4/2/1 from (N, C, 2s, 2s) to (N, K, s, s), channels-last out.

    ``backward`` rebuilds the im2col rows and the matrix from the saved inputs (a
    gather and a cast, about a millisecond) rather than saving them: then its own
    ops reach ``x`` and ``weight``, so double backward (R1, WGAN-GP) is exact too.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, dtype: torch.dtype) -> Tensor:  # type: ignore[override]
        n, _, h, _ = x.shape
        cols = _gather(x.to(dtype).permute(0, 2, 3, 1), h // 2)  # (N s s, 16 C)
        y = cols @ _matrix(weight).to(dtype).t()
        ctx.save_for_backward(x, weight)
        ctx.dtype = dtype
        return y.view(n, h // 2, h // 2, -1).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        n, c, h, _ = x.shape
        w = _matrix(weight).to(ctx.dtype)  # (K, 16 C)
        g = grad.to(ctx.dtype).permute(0, 2, 3, 1).reshape(n * (h // 2) ** 2, -1)  # (N s s, K)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _scatter(g @ w, n, h, c).permute(0, 3, 1, 2).to(x.dtype)
        if ctx.needs_input_grad[1]:
            cols = _gather(x.to(ctx.dtype).permute(0, 2, 3, 1), h // 2)
            grad_w = _unmatrix((g.t() @ cols).to(weight.dtype), weight.shape)
        return grad_x, grad_w, None


class _ConvTranspose(torch.autograd.Function):
    """The adjoint of :class:`_Conv`: (N, C, s, s) -> (N, K, 2s, 2s), channels-last out."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, dtype: torch.dtype) -> Tensor:  # type: ignore[override]
        n, c, s, _ = x.shape
        x_rows = x.to(dtype).permute(0, 2, 3, 1).reshape(n * s * s, c)
        y = _scatter(x_rows @ _matrix(weight).to(dtype), n, 2 * s, weight.shape[1])
        ctx.save_for_backward(x, weight)
        ctx.dtype = dtype
        return y.permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        n, c, s, _ = x.shape
        w = _matrix(weight).to(ctx.dtype)  # (C, 16 K)
        cols = _gather(grad.to(ctx.dtype).permute(0, 2, 3, 1), s)  # (N s s, 16 K)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = (cols @ w.t()).view(n, s, s, -1).permute(0, 3, 1, 2).to(x.dtype)
        if ctx.needs_input_grad[1]:
            x_rows = x.to(ctx.dtype).permute(0, 2, 3, 1).reshape(n * s * s, c)
            grad_w = _unmatrix((x_rows.t() @ cols).to(weight.dtype), weight.shape)
        return grad_x, grad_w, None


def _routed(x: Tensor, side: int, layer: nn.Module) -> bool:
    return (
        x.device.type == "cpu"
        and x.dim() == 4
        and x.shape[-1] == x.shape[-2]
        and side <= MAX_SIDE
        and layer.in_channels * layer.out_channels >= MIN_CHANNELS_PRODUCT
    )


def _add_bias(y: Tensor, bias: Tensor | None) -> Tensor:
    return y if bias is None else y + bias.to(y.dtype).view(1, -1, 1, 1)


class Conv4x4s2(nn.Conv2d):
    """``nn.Conv2d(c_in, c_out, 4, 2, 1)``, as one matrix product on small CPU maps."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool = True):
        super().__init__(c_in, c_out, 4, 2, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if _routed(x, x.shape[-1] // 2, self) and x.shape[-1] % 2 == 0:
            return _add_bias(_Conv.apply(x, self.weight, _compute_dtype(x)), self.bias)
        return super().forward(x)


class ConvTranspose4x4s2(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)``, as one matrix product on small CPU maps."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool = True):
        super().__init__(c_in, c_out, 4, 2, 1, bias=bias)

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if output_size is None and _routed(x, x.shape[-1], self):
            return _add_bias(_ConvTranspose.apply(x, self.weight, _compute_dtype(x)), self.bias)
        return super().forward(x, output_size)


class SeedConvTranspose(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(z_dim, c_out, kernel)`` from a 1x1 latent: a generator's seed map.

    On a 1x1 input the transposed conv is a dense layer, ``z @ W`` with ``W`` viewed as
    ``(z_dim, c_out kh kw)``, and runs as one. oneDNN's transposed conv took 7.3 ms for
    fastgan's 190 -> 192 x 4x4 seed (forward + backward, bf16, batch 64) where the
    matrix product takes 1.5 ms. Same parameters and state-dict keys as the stock layer;
    any other input (larger than 1x1) goes to it. The output is channels-last when
    the weight is (as the trainer keeps conv weights on CPU), NCHW otherwise.
    """

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        plain = (
            output_size is None
            and x.dim() == 4
            and x.shape[-2:] == (1, 1)
            and self.groups == 1
            and self.padding == (0, 0)
            and self.output_padding == (0, 0)
            and self.dilation == (1, 1)
        )
        if not plain:
            return super().forward(x, output_size)
        c_in, c_out, kh, kw = self.weight.shape
        rows = x.reshape(x.shape[0], c_in)
        if layout_of(self.weight) == torch.channels_last:  # (C_in, kh, kw, C_out) is a free view
            y = rows @ self.weight.permute(0, 2, 3, 1).reshape(c_in, -1)
            y = y.view(-1, kh, kw, c_out).permute(0, 3, 1, 2)
        else:
            y = (rows @ self.weight.reshape(c_in, -1)).view(-1, c_out, kh, kw)
        return _add_bias(y, self.bias)


def stock_layers(module: nn.Module) -> nn.Module:
    """Turn every layer of this module back into the stock PyTorch class (for reference runs):
    these convs, :class:`artkit.nn.glu.GLU` and :class:`artkit.nn.batch_norm.BatchNorm2d`."""
    for m in module.modules():
        if type(m) is Conv4x4s2:
            m.__class__ = nn.Conv2d
        elif type(m) in (ConvTranspose4x4s2, SeedConvTranspose):
            m.__class__ = nn.ConvTranspose2d
        elif type(m) is GLU:
            m.__class__ = nn.GLU
        elif type(m) is BatchNorm2d:
            m.__class__ = nn.BatchNorm2d
    return module
