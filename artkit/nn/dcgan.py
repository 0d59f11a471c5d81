"""DCGAN building blocks (Radford et al. 2015): the channel plan, the up stack, down blocks.

The GAN generator and the VAE decoder are the same network (z -> 4x4 -> doubling
transposed convolutions -> image), so both build it here; discriminators and
encoders are stacks of :func:`down_block`. Layers are returned as flat lists for
the caller's ``nn.Sequential``: the indices are checkpoint keys (``G.net.4.weight``).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from torch import nn

from artkit.config_checks import image_size
from artkit.nn.batch_norm import BatchNorm2d
from artkit.nn.small_conv import Conv4x4s2, ConvTranspose4x4s2
from artkit.nn.split_batch_norm import SplitBatchNorm2d


def pyramid_sides(resolution: Any) -> list[int]:
    """4, 8, ..., resolution: the feature-map sides, log2(resolution / 4) doublings.

    For a non-square ``resolution`` (``"64x128"``) these are the shorter sides: the
    maps grow from :func:`seed_size` by the same doublings (4x8, 8x16, ... 64x128).
    """
    side = min(image_size(resolution))
    return [4 * 2**i for i in range(int(math.log2(side // 4)) + 1)]


def seed_size(resolution: Any) -> tuple[int, int]:
    """``(height, width)`` of the smallest map: 4x4 for square sizes, 4x8 for 64x128."""
    h, w = image_size(resolution)
    stride = pyramid_sides(resolution)[-1] // 4
    return h // stride, w // stride


def plan_channels(side: int, width: float) -> int:
    """Channels at a feature-map side: 512 at 4 px, halving as the side doubles, never below 32.

    One plan for every network, keyed by side, so a 64 px network is a 32 px one
    with one more stage; ``width`` multiplies every count.
    """
    return max(1, round(width * max(32, min(512, 2048 // side))))


def up_stack(
    z_dim: int, channels: list[int], out_channels: int, seed: tuple[int, int] = (4, 4)
) -> list[nn.Module]:
    """z -> dense seed map -> (ConvTranspose 4/2/1 + BN + LeakyReLU) per step -> conv 3x3 -> tanh.

    ``channels`` are the counts at 4, 8, ... px (``len(channels) - 1`` doublings);
    ``seed`` is the first map's (height, width), 4x4 unless the image is not square.
    """
    # artkit's BatchNorm2d: the stock one is slow on channels-last maps of few channels;
    # generators only (a discriminator's may be differentiated twice, which it cannot)
    layers: list[nn.Module] = [
        nn.Linear(z_dim, channels[0] * seed[0] * seed[1], bias=False),
        nn.Unflatten(1, (channels[0], *seed)),
        BatchNorm2d(channels[0]),
        nn.LeakyReLU(0.2),
    ]
    for c_in, c_out in pairwise(channels):
        layers += [
            ConvTranspose4x4s2(c_in, c_out, bias=False),
            BatchNorm2d(c_out),
            nn.LeakyReLU(0.2),
        ]
    return [*layers, nn.Conv2d(channels[-1], out_channels, 3, 1, 1), nn.Tanh()]


def down_block(c_in: int, c_out: int, *, batch_norm: bool) -> list[nn.Module]:
    """Conv 4/2/1 (+ BatchNorm, then no conv bias) + LeakyReLU(0.2): halves the side."""
    layers: list[nn.Module] = [Conv4x4s2(c_in, c_out, bias=not batch_norm)]
    if batch_norm:  # a discriminator's can take real and fake in one call
        layers.append(SplitBatchNorm2d(c_out))
    return [*layers, nn.LeakyReLU(0.2)]
