"""The Johnson et al. (2016) image transformation network for fast style transfer.

Layout (``w`` = ``width``, 32 in the paper; ``R`` = ``residual_blocks``, 5)::

    reflect-pad 4, conv 9x9  3 -> w,   instance norm, ReLU
    reflect-pad 1, conv 3x3  w -> 2w,  stride 2, instance norm, ReLU
    reflect-pad 1, conv 3x3 2w -> 4w,  stride 2, instance norm, ReLU
    R x residual block (reflect-pad 1, conv 3x3, IN, ReLU, reflect-pad 1, conv 3x3, IN) + skip
    nearest upsample x2, reflect-pad 1, conv 3x3 4w -> 2w, instance norm, ReLU
    nearest upsample x2, reflect-pad 1, conv 3x3 2w -> w,  instance norm, ReLU
    reflect-pad 4, conv 9x9  w -> 3, tanh

with the refinements that became standard after the paper: reflection padding
everywhere instead of zero padding (no dark borders), instance norm with affine
parameters instead of batch norm (Ulyanov et al. 2016), and nearest-neighbour
upsampling followed by a convolution instead of transposed convolutions (no
checkerboard artefacts; Odena et al. 2016). Images in and out are ``(N, 3, H, W)``
in ``[-1, 1]``; any ``H, W`` works: the input is reflection-padded on the bottom and
right to a multiple of 4 (at least 8) and the output cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ConvLayer", "ResidualBlock", "TransformerNet", "UpsampleConv"]


# Layout-keeping stand-ins for nn.ReflectionPad2d and nn.InstanceNorm2d (same values,
# same state-dict keys). The stock ones have no channels-last CPU kernels: each call
# copied its input to NCHW and back, and those copies were 54% of a 512 px bf16
# channels-last stylize (torch.profiler, 2-core CPU).


class ReflectionPad2d(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d``, built from flipped edge slices when the input is channels-last."""

    def forward(self, x: Tensor) -> Tensor:
        left, right, top, bottom = self.padding
        if not (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)):
            return super().forward(x)
        h, w = x.shape[-2:]
        if max(top, bottom) >= h or max(left, right) >= w:
            return super().forward(x)  # let the stock layer raise its error
        rows = [x[:, :, 1 : top + 1].flip(2), x, x[:, :, h - bottom - 1 : h - 1].flip(2)]
        x = torch.cat(rows, 2)
        cols = [x[:, :, :, 1 : left + 1].flip(3), x, x[:, :, :, w - right - 1 : w - 1].flip(3)]
        return torch.cat(cols, 3)


class InstanceNorm2d(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d(affine=True)`` as a group norm of one channel a group (NHWC kernels)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, x.shape[1], self.weight, self.bias, self.eps)


class ConvLayer(nn.Module):
    """Reflection padding + convolution (+ affine instance norm + ReLU unless ``last``)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm: bool = True):
        super().__init__()
        self.pad = ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)
        self.norm = InstanceNorm2d(cout, affine=True) if norm else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = F.relu(self.norm(x))
        return x


class UpsampleConv(ConvLayer):
    """Nearest-neighbour upsampling x2, then :class:`ConvLayer` (no checkerboards)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResidualBlock(nn.Module):
    """Two 3x3 reflection-padded convs with instance norm; identity skip."""

    def __init__(self, channels: int):
        super().__init__()
        self.pad1 = ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(channels, channels, 3)
        self.norm1 = InstanceNorm2d(channels, affine=True)
        self.pad2 = ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(channels, channels, 3)
        self.norm2 = InstanceNorm2d(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.norm1(self.conv1(self.pad1(x))))
        return x + self.norm2(self.conv2(self.pad2(y)))


class TransformerNet(nn.Module):
    """Johnson's image transformation network: ``(N, 3, H, W)`` in [-1, 1] -> same shape."""

    def __init__(self, width: int = 32, residual_blocks: int = 5, channels: int = 3):
        super().__init__()
        w = width
        self.channels = channels
        self.encoder = nn.Sequential(
            ConvLayer(channels, w, 9),
            ConvLayer(w, 2 * w, 3, 2),
            ConvLayer(2 * w, 4 * w, 3, 2),
        )
        self.residuals = nn.Sequential(*(ResidualBlock(4 * w) for _ in range(residual_blocks)))
        self.decoder = nn.Sequential(
            UpsampleConv(4 * w, 2 * w, 3),
            UpsampleConv(2 * w, w, 3),
            ConvLayer(w, channels, 9, norm=False),
        )

    @staticmethod
    def padding_for(height: int, width: int) -> tuple[int, int]:
        """Bottom/right padding that makes a side a multiple of 4 and at least 8."""

        def pad(n: int) -> int:
            return max(8, -(-n // 4) * 4) - n

        return pad(height), pad(width)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        ph, pw = self.padding_for(h, w)
        if ph or pw:
            # reflection needs the pad to be smaller than the side; tiny images replicate
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        y = self.decoder(self.residuals(self.encoder(x)))
        y = y.tanh()
        if ph or pw:
            y = y[..., :h, :w]
        return y
