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

Narrower layers on 4x4 and 8x8 maps keep oneDNN's forward and input gradient,
which are fast there, but its weight gradient is not: 1.2 ms for a 64 -> 128 conv
from 8x8 to 4x4 at batch 64 in bf16, against 0.5 ms as one gather plus one matrix
product. Those layers (:data:`WEIGHT_MATRIX_FROM`) take only the weight gradient
that way.

:class:`SeedConvTranspose` is the same idea for a generator's first layer, a
transposed conv from a 1x1 latent to the seed map (fastgan's): on that input it is
a dense layer and runs as one matrix product, on any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from artkit.nn.batch_norm import BatchNorm2d
from artkit.nn.glu import GLU
from artkit.nn.layout import layout_of
from artkit.nn.split_batch_norm import SplitBatchNorm2d

#: the largest small side (the conv's output, the transposed conv's input) routed here
MAX_SIDE = 4
#: the fewest C_in x C_out routed here. Fwd + bwd of an 8 -> 4 conv, bf16, batch 64
#: (128 in brackets), stock vs matrix, ms: 48 -> 96 2.1 vs 3.2 (3.1 vs 4.2); 128 -> 256
#: 8.6 vs 8.9 (15.9 vs 13.8); 256 -> 512 47 vs 26 (99 vs 41). oneDNN does well until
#: its kernel changes between those last two.
MIN_CHANNELS_PRODUCT = 256 * 256
#: below that, the weight gradient alone as a matrix product: by the small side, the
#: fewest C_in x C_out routed. bf16, batch 64, oneDNN's weight gradient vs the matrix
#: product, ms. Side 4 (conv 8 -> 4, transposed 4 -> 8): 32 x 64 0.37 vs 0.24, 64 x 128
#: 1.25 vs 0.49 (transposed 128 -> 64: 1.21 vs 0.51). Side 8: 64 x 128 2.66 vs 1.70
#: (transposed 2.26 vs 1.78), 128 x 256 7.8 vs 4.9, but 32 x 64 0.66 vs 0.84. Side 16
#: and up: the matrix product is 3-8x slower (its gather outgrows the caches).
WEIGHT_MATRIX_FROM = {4: 32 * 64, 8: 64 * 128}
#: the most numbers gathered at once for a weight gradient (8 MB in bf16): at batch 128
#: a 128 -> 256 conv from 16x16 gathers 16M, and gathered whole it was slower than
#: oneDNN (0.8x); 4M at a time, 1.3x
GATHER_NUMBERS = 2**22


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


def _nhwc(x: Tensor) -> Tensor:
    """(N, C, H, W) -> its (N, H, W, C) view (free for a channels-last map)."""
    return x.permute(0, 2, 3, 1)


def _weight_grad(rows: Tensor, windows: Tensor, weight: Tensor) -> Tensor:
    """A 4/2/1 layer's weight gradient, sum over images of ``rows^T @ im2col(windows)``.

    ``rows``: (N, s, s, C_first) and ``windows``: (N, 2s, 2s, C_second), both NHWC views
    in the compute dtype. A conv's are its output gradient and input; a transposed
    conv's its input and output gradient. Taken :data:`GATHER_NUMBERS` at a time so
    the gathered rows stay in cache as the batch grows, partial sums in float32.
    """
    side = rows.shape[1]
    per = max(1, GATHER_NUMBERS // (side * side * 16 * windows.shape[-1]))
    total: Tensor | None = None
    for r, w in zip(rows.split(per), windows.split(per), strict=True):
        part = r.reshape(-1, r.shape[-1]).t() @ _gather(w, side)
        total = part if total is None else total.float() + part.float()
    assert total is not None
    return _unmatrix(total.to(weight.dtype), weight.shape)


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
            grad_w = _weight_grad(g.view(n, h // 2, h // 2, -1), _nhwc(x.to(ctx.dtype)), weight)
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


class _WeightByMatrix(torch.autograd.Function):
    """oneDNN's conv 4/2/1 (or transposed conv) and its input gradient; the weight
    gradient as one matrix product.

    The input gradient is the adjoint op of the output gradient (the transposed conv
    of a conv's, the conv of a transposed conv's), a forward kernel, and everything in
    ``backward`` is made of differentiable ops on the saved inputs, so double backward
    (R1, WGAN-GP) is exact.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, dtype: torch.dtype, transposed: bool) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.dtype, ctx.transposed = dtype, transposed
        op = F.conv_transpose2d if transposed else F.conv2d
        return op(x.to(dtype), weight.to(dtype), None, 2, 1)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        g = grad.to(ctx.dtype)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            adjoint = F.conv2d if ctx.transposed else F.conv_transpose2d
            grad_x = adjoint(g, weight.to(ctx.dtype), None, 2, 1).to(x.dtype)
        if ctx.needs_input_grad[1]:
            # the small map gives the rows, the large one the windows
            rows, windows = (x.to(ctx.dtype), g) if ctx.transposed else (g, x.to(ctx.dtype))
            grad_w = _weight_grad(_nhwc(rows), _nhwc(windows), weight)
        return grad_x, grad_w, None, None


def _path(x: Tensor, side: int, layer: nn.Module) -> str:
    """Which computation a 4/2/1 layer takes for ``x`` (``side``: its small map's side):
    ``matrix`` (all of it as matrix products), ``weight`` (only its weight gradient)
    or ``stock``."""
    if x.device.type != "cpu" or x.dim() != 4 or x.shape[-1] != x.shape[-2]:
        return "stock"
    product = layer.in_channels * layer.out_channels
    if side <= MAX_SIDE and product >= MIN_CHANNELS_PRODUCT:
        return "matrix"
    if _wants_weight_grad(layer) and product >= WEIGHT_MATRIX_FROM.get(side, product + 1):
        return "weight"
    return "stock"


def _wants_weight_grad(layer: nn.Module) -> bool:
    """Whether this call will differentiate ``layer``'s weight, read without computing it:
    a spectral-normed weight is a power iteration each time it is read."""
    if not torch.is_grad_enabled():
        return False
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original.requires_grad
    return layer.weight.requires_grad


def _add_bias(y: Tensor, bias: Tensor | None) -> Tensor:
    return y if bias is None else y + bias.to(y.dtype).view(1, -1, 1, 1)


class Conv4x4s2(nn.Conv2d):
    """``nn.Conv2d(c_in, c_out, 4, 2, 1)``, as one matrix product on small CPU maps."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool = True):
        super().__init__(c_in, c_out, 4, 2, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        path = _path(x, x.shape[-1] // 2, self) if x.shape[-1] % 2 == 0 else "stock"
        if path == "stock":
            return super().forward(x)
        if path == "matrix":
            y = _Conv.apply(x, self.weight, _compute_dtype(x))
        else:
            y = _WeightByMatrix.apply(x, self.weight, _compute_dtype(x), False)
        return _add_bias(y, self.bias)


class ConvTranspose4x4s2(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)``, as one matrix product on small CPU maps."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool = True):
        super().__init__(c_in, c_out, 4, 2, 1, bias=bias)

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        path = _path(x, x.shape[-1], self) if output_size is None else "stock"
        if path == "stock":
            return super().forward(x, output_size)
        if path == "matrix":
            y = _ConvTranspose.apply(x, self.weight, _compute_dtype(x))
        else:
            y = _WeightByMatrix.apply(x, self.weight, _compute_dtype(x), True)
        return _add_bias(y, self.bias)


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


def _own_class(m: nn.Module) -> type:
    """The layer's class: for a parametrized one (spectral norm), the class it was made from."""
    cls = type(m)
    return cls.__bases__[0] if parametrize.is_parametrized(m) else cls


def _as(m: nn.Module, stock: type) -> None:
    """Make ``m`` a ``stock`` layer in place (its parametrizations kept)."""
    if not parametrize.is_parametrized(m):
        m.__class__ = stock
        return
    # torch.nn.utils.parametrize made type(m) a subclass of the layer's own class,
    # with the parametrized tensors as properties: the same subclass of ``stock``
    body = {k: v for k, v in vars(type(m)).items() if k not in ("__dict__", "__weakref__")}
    m.__class__ = type(f"Parametrized{stock.__name__}", (stock,), body)


def stock_layers(module: nn.Module) -> nn.Module:
    """Turn every layer of this module back into the stock PyTorch class (for reference runs):
    these convs, :class:`artkit.nn.glu.GLU`, the BatchNorm layers of
    :mod:`artkit.nn.batch_norm` and :mod:`artkit.nn.split_batch_norm`, and
    :class:`artkit.nn.upsample_conv.UpsampleConv3x3` (upsampling, then a stock conv);
    spectral-normed layers too."""
    from artkit.nn.upsample_conv import StockUpsampleConv3x3, UpsampleConv3x3

    stock = {
        Conv4x4s2: nn.Conv2d,
        ConvTranspose4x4s2: nn.ConvTranspose2d,
        SeedConvTranspose: nn.ConvTranspose2d,
        GLU: nn.GLU,
        BatchNorm2d: nn.BatchNorm2d,
        SplitBatchNorm2d: nn.BatchNorm2d,
        UpsampleConv3x3: StockUpsampleConv3x3,
    }
    for m in module.modules():
        own = _own_class(m)
        if own in stock:
            _as(m, stock[own])
    return module
