"""VAE networks: a strided-conv encoder and a DCGAN-shaped decoder.

Images are ``(N, C, H, W)`` in ``[-1, 1]``. The encoder returns ``(mean, logvar)``,
each ``(N, z_dim)``; the decoder takes ``z`` of shape ``(N, z_dim)``. Nothing here
assumes a device: the networks run on CPU or any accelerator, in channels_last,
under ``torch.autocast`` and under ``torch.compile``.

Encoder: (Conv 4/2/1 + BatchNorm + LeakyReLU(0.2)) down to 4x4 with 64, 128, then
256 channels (times ``width``), flatten, and two dense heads for the posterior
mean and log-variance. Decoder: dense -> 4x4x512 -> (ConvTranspose 4/2/1 + BN +
LeakyReLU) up to the resolution -> conv 3x3 -> tanh, the channel plan of the DCGAN
generator (512 at 4 px, halving as the side doubles, never below 32).
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from .configs import VAEConfig

#: the log-variance head's output is clamped here: exp() stays finite in bf16/fp16
LOGVAR_RANGE = (-30.0, 20.0)


def _sides(resolution: int) -> list[int]:
    """4, 8, ..., resolution: log2(resolution / 4) doublings."""
    return [4 * 2**i for i in range(int(math.log2(resolution // 4)) + 1)]


def _scaled(channels: int, width: float) -> int:
    return max(1, round(width * channels))


def encoder_channels(cfg: VAEConfig) -> list[int]:
    """Output channels of each stride-2 conv: 64, 128, 256, 256, ... times ``width``."""
    stages = len(_sides(cfg.resolution)) - 1
    return [_scaled(min(256, 64 * 2**i), cfg.width) for i in range(stages)]


def decoder_channels(cfg: VAEConfig) -> list[int]:
    """Channels at 4, 8, ..., resolution px: 512, 256, 128, 64, 32, 32 times ``width``."""
    return [_scaled(max(32, min(512, 2048 // s)), cfg.width) for s in _sides(cfg.resolution)]


def _init(module: nn.Module) -> None:
    """Conv/linear weights ~ N(0, 0.02) (as in DCGAN), norm scales 1, biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class VAEEncoder(nn.Module):
    """x -> (Conv 4/2/1 + BN + LeakyReLU) x log2(res/4) -> flatten -> (mean, logvar)."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch = [cfg.channels, *encoder_channels(cfg)]
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(ch):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2),
            ]
        layers.append(nn.Flatten())
        self.net = nn.Sequential(*layers)
        features = ch[-1] * 16  # 4x4 feature map
        self.mean = nn.Linear(features, cfg.z_dim)
        self.logvar = nn.Linear(features, cfg.z_dim)
        _init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return self.mean(h), self.logvar(h).clamp(*LOGVAR_RANGE)


class VAEDecoder(nn.Module):
    """z -> dense 4x4 -> (ConvTranspose 4/2/1 + BN + LeakyReLU) x log2(res/4) -> conv 3x3 -> tanh."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.z_dim = cfg.z_dim
        ch = decoder_channels(cfg)
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
        _init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
