"""The pix2pix U-Net generator (Isola et al. 2017), for any image-to-image model.

Images are ``(N, C, H, W)`` in ``[-1, 1]``. The network is fully convolutional:
it takes any size that is a multiple of ``2 ** depth`` (the model pads other
sizes and crops back).

As in the paper: ``depth`` levels of 4x4 stride-2 convolutions
(LeakyReLU 0.2, normalisation except on the first and innermost level) down to
the bottleneck, then 4x4 stride-2 transposed convolutions (ReLU, normalisation)
back up, each level concatenating the encoder's features of the same size (the
skip connections that carry the input's detail straight through). Dropout on
the three decoder levels after the innermost one is pix2pix's source of noise; the model turns
it off for inference unless asked. Channels: ``width * min(2**level, 8)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from artkit.nn.init import dcgan_init

#: decoder levels after the innermost one that get dropout, as in the paper
DROPOUT_LEVELS = 3


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``batch`` (BatchNorm) or ``instance`` (InstanceNorm without affine/running stats)."""
    if kind == "instance":
        # no affine/running stats: each image is normalised by itself, as in CycleGAN/pix2pix
        return nn.InstanceNorm2d(channels)
    return nn.BatchNorm2d(channels)


class UNetGenerator(nn.Module):
    """in_channels -> out_channels at the same size, through a ``depth``-level U-Net with skips."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int = 64,
        depth: int = 5,
        norm: str = "batch",
        dropout: float = 0.5,
    ):
        super().__init__()
        self.depth = depth
        ch = [width * min(2**i, 8) for i in range(depth)]
        self.down = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            source = in_channels if i == 0 else ch[i - 1]
            innermost = i == depth - 1
            layers.append(nn.Conv2d(source, ch[i], 4, 2, 1, bias=i == 0 or innermost))
            if 0 < i < depth - 1:
                layers.append(norm_layer(norm, ch[i]))
            self.down.append(nn.Sequential(*layers))
        # up[i] turns level i's features (plus its skip, except at the bottleneck) into level i-1's size
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            source = ch[i] if i == depth - 1 else 2 * ch[i]
            layers = [nn.ReLU()]
            if i == 0:
                layers += [nn.ConvTranspose2d(source, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                layers += [
                    nn.ConvTranspose2d(source, ch[i - 1], 4, 2, 1, bias=False),
                    norm_layer(norm, ch[i - 1]),
                ]
                if dropout > 0 and 0 < depth - 1 - i <= DROPOUT_LEVELS:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()  # the bottleneck itself has no skip
        for index, layer in enumerate(self.up):
            if index:
                x = torch.cat([x, skips.pop()], dim=1)
            x = layer(x)
        return x
