"""Nearest 2x upsampling followed by a 3x3 conv, computed on the small map (CPU).

A decoder that ends ``nn.Upsample(scale_factor=2), nn.Conv2d(c, 3, 3, 1, 1)`` (fastgan's
discriminator rebuilds its real images so) spends most of its time in that last conv:
at 32x32 with 3 output channels, oneDNN's bf16 backward ran at a fifth of its forward's
pace. The same arithmetic works on the map before upsampling: every output pixel of
the upsampled conv reads a 2x2 neighbourhood of input pixels, one of four ways by its
row and column parity (the "sub-pixel" view of resize-convolution), so one 3x3 conv to
``4 c_out`` channels on the small map, each group of four holding a parity's summed
taps, then :func:`torch.nn.functional.pixel_shuffle`, gives the same picture. Forward +
backward, bf16, batch 64, 24 -> 3 channels from 16x16: 3.1 ms as upsample + conv,
1.7 ms so. With more output channels the wider conv loses (48 -> 24: 2.0 vs 2.6 ms),
so only layers of at most :data:`SUBPIXEL_MAX_CHANNELS` outputs take it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: the most output channels computed on the small map (a picture's: 1, 3 or 4)
SUBPIXEL_MAX_CHANNELS = 4

# Along one axis, which taps of the 3x3 kernel (on the upsampled map) land on which of
# the small map's rows -1, 0, +1, for an output row of each parity: an even row reads
# small rows (-1, 0, 0), an odd row (0, 0, +1).
_PARITY_TAPS = torch.tensor(
    [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ]
)


def subpixel_kernel(weight: Tensor) -> Tensor:
    """``(O, I, 3, 3)`` on the upsampled map -> ``(4 O, I, 3, 3)`` on the small map,
    output channel ``4 o + 2 a + b`` for rows of parity ``a`` and columns of parity ``b``."""
    taps = _PARITY_TAPS.to(weight.device, weight.dtype)
    kernel = torch.einsum("apr,bqs,oirs->oabipq", taps, taps, weight)
    return kernel.reshape(4 * weight.shape[0], *weight.shape[1:])


class StockUpsampleConv3x3(nn.Conv2d):
    """``nn.Upsample(scale_factor=2)`` then ``nn.Conv2d(c_in, c_out, 3, 1, 1)`` in stock
    ops: what :class:`UpsampleConv3x3` computes elsewhere, and what ``stock_layers``
    turns it back into."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool = True):
        super().__init__(c_in, c_out, 3, 1, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.interpolate(x, scale_factor=2, mode="nearest"))


class UpsampleConv3x3(StockUpsampleConv3x3):
    """``nn.Upsample(scale_factor=2)`` then ``nn.Conv2d(c_in, c_out, 3, 1, 1)``, in one layer.

    The same parameters and state-dict keys as that conv (the upsampling has none).
    On CPU tensors with at most :data:`SUBPIXEL_MAX_CHANNELS` outputs it convolves the
    small map (see the module docstring); elsewhere it upsamples and convolves as the
    stock layers do.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or self.out_channels > SUBPIXEL_MAX_CHANNELS:
            return super().forward(x)
        bias = None if self.bias is None else self.bias.repeat_interleave(4)
        y = F.conv2d(x, subpixel_kernel(self.weight), bias, padding=1)
        return F.pixel_shuffle(y, 2)
