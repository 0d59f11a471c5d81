"""GAN networks: an MLP pair and a DCGAN pair.

Images are ``(N, C, H, W)`` in ``[-1, 1]``; generators take ``z`` of shape ``(N, z_dim)``;
discriminators return one logit per image, shape ``(N,)``. Nothing here assumes a
device: the networks run on CPU or any accelerator, in channels_last, under
``torch.autocast`` and under ``torch.compile``.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .configs import DCGANConfig, MLPGANConfig

# -- MLP GAN ------------------------------------------------------------------


class MLPGenerator(nn.Module):
    """z -> hidden -> hidden -> C*H*W, LeakyReLU(0.2), tanh."""

    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        self.z_dim, h = cfg.z_dim, cfg.hidden
        self.shape = (cfg.channels, cfg.resolution, cfg.resolution)
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, math.prod(self.shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """C*H*W -> hidden -> hidden -> hidden//2 -> 1 logit, LeakyReLU(0.2)."""

    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        h, pixels = cfg.hidden, cfg.channels * cfg.resolution**2
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(pixels, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, h // 2),
            nn.LeakyReLU(0.2),
            nn.Linear(h // 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])


# -- DCGAN --------------------------------------------------------------------
# Both networks share one channel plan keyed by feature-map side, so a 64 px
# generator is a 32 px one with one more stage: 4 px -> 512, 8 -> 256, 16 -> 128,
# 32 -> 64, 64 -> 32, 128 -> 32 channels, all times ``width``.


def _sides(resolution: int) -> list[int]:
    """4, 8, ..., resolution: log2(resolution / 4) doublings."""
    return [4 * 2**i for i in range(int(math.log2(resolution // 4)) + 1)]


def _channels(side: int, width: float) -> int:
    return max(1, round(width * max(32, min(512, 2048 // side))))


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z -> dense 4x4 -> (ConvTranspose 4/2/1 + BN + LeakyReLU) x log2(res/4) -> conv 3x3 -> tanh."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.z_dim = cfg.z_dim
        ch = [_channels(s, cfg.width) for s in _sides(cfg.resolution)]
        layers: list[nn.Module] = [
            nn.Linear(cfg.z_dim, ch[0] * 16, bias=False),
            nn.Unflatten(1, (ch[0], 4, 4)),
            nn.BatchNorm2d(ch[0]),
            nn.LeakyReLU(0.2),
        ]
        for c_in, c_out in pairwise(ch):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2),
            ]
        layers += [nn.Conv2d(ch[-1], cfg.channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """(Conv 4/2/1 + norm + LeakyReLU(0.2)) x log2(res/4) down to 4x4 -> conv 4x4 -> logit.

    ``d_norm``: ``batch`` (BatchNorm after every conv but the first), ``spectral``
    (spectral norm on every conv, the logit one included) or ``none``.
    """

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        ch = [cfg.channels] + [
            _channels(s, cfg.width) for s in reversed(_sides(cfg.resolution)[:-1])
        ]
        batch = cfg.d_norm == "batch"
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(pairwise(ch)):
            use_bn = batch and i > 0
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not use_bn))
            layers += [nn.BatchNorm2d(c_out)] if use_bn else []
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(ch[-1], 1, 4))  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if cfg.d_norm == "spectral":  # after init: the power iteration starts from these weights
            for m in [m for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]:
                spectral_norm(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
