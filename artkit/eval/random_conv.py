"""``random-conv``: a fixed-seed random convolutional network, needing no weights.

The fallback when the FID Inception weights are missing (:mod:`artkit.eval.inception`)
and a registered extractor of its own. See :mod:`artkit.eval.features` for what
numbers in these features mean (and don't).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.eval.embedder import Embedder


class RandomConv(Embedder):
    """Four stride-2 random conv layers (leaky ReLU) on 128x128 images.

    Features: every layer's channel means and standard deviations (colour, edge and
    texture statistics at four scales) plus the last layer's channel means over a
    2x2 grid (coarse layout): 1,984 values at the default width. Half the first
    layer's filters are mean-free (edges, blind to flat colour), half not (colour).
    Each layer's values are scaled by 1/sqrt(channels) so every scale weighs the same
    in a distance instead of the widest layer drowning the rest; on the shapes
    dataset this made 2-pixel blur and dropped modes 1.7x and 5x more visible above
    the same-distribution noise floor than plain Kaiming filters at 64 pixels.
    """

    name = "random-conv"
    input_size = 128
    #: overall scale: distances in a readable range (same-distribution floor ~1 at n=500)
    SCALE = 10.0

    def __init__(self, seed: int = 0, width: int = 32) -> None:
        super().__init__()
        if width < 1:
            raise UsageError(f"random-conv: width={width} must be at least 1")
        g = torch.Generator().manual_seed(seed)
        chans = [3, width, width * 2, width * 4, width * 8]
        with torch.random.fork_rng(devices=[]):  # default init would move the caller's RNG
            self.layers = nn.ModuleList(
                nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in itertools.pairwise(chans)
            )
        with torch.no_grad():
            for i, conv in enumerate(self.layers):
                w = torch.randn(conv.weight.shape, generator=g)
                if i == 0:
                    half = conv.out_channels // 2
                    w[:half] -= w[:half].mean((1, 2, 3), keepdim=True)
                w /= w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                conv.weight.copy_(w * 2**0.5)
                conv.bias.zero_()
        parts = [f"seed={seed}"] if seed else []
        parts += [f"width={width}"] if width != 32 else []
        self.name = "random-conv" + (":" + ",".join(parts) if parts else "")
        self.requires_grad_(False).eval()

    def forward(self, x: Tensor) -> Tensor:
        feats = []
        for conv in self.layers:
            x = F.leaky_relu(conv(x), 0.2)
            weight = self.SCALE / conv.out_channels**0.5
            feats += [x.mean((2, 3)) * weight, x.std((2, 3)) * weight]
        feats.append(
            F.adaptive_avg_pool2d(x, 2).flatten(1) * (self.SCALE / (4 * x.shape[1]) ** 0.5)
        )
        return torch.cat(feats, 1)


def build_random_conv(seed: int = 0, width: int = 32, device: Any = "cpu", **_: Any) -> Embedder:
    return RandomConv(int(seed), int(width)).to(device)
