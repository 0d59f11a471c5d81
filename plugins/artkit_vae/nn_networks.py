"""VAE networks: a strided-conv encoder and a DCGAN-shaped decoder (:mod:`artkit.nn.dcgan`).

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

from itertools import pairwise

import torch
from torch import nn

from artkit.nn.dcgan import down_block, plan_channels, pyramid_sides, seed_size, up_stack
from artkit.nn.grey import colour_from_grey, painted_channels
from artkit.nn.init import dcgan_init

from .configs import VAEConfig

#: the log-variance head's output is clamped here: exp() stays finite in bf16/fp16
LOGVAR_RANGE = (-30.0, 20.0)


def _scaled(channels: int, width: float) -> int:
    return max(1, round(width * channels))


def encoder_channels(cfg: VAEConfig) -> list[int]:
    """Output channels of each stride-2 conv: 64, 128, 256, 256, ... times ``width``."""
    stages = len(pyramid_sides(cfg.resolution)) - 1
    return [_scaled(min(256, 64 * 2**i), cfg.width) for i in range(stages)]


def decoder_channels(cfg: VAEConfig) -> list[int]:
    """Channels at 4, 8, ..., resolution px: the DCGAN generator's plan (512, 256, ... 32)."""
    return [plan_channels(s, cfg.width) for s in pyramid_sides(cfg.resolution)]


class VAEEncoder(nn.Module):
    """x -> (Conv 4/2/1 + BN + LeakyReLU) x log2(res/4) -> flatten -> (mean, logvar)."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch = [cfg.channels, *encoder_channels(cfg)]
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(ch):
            layers += down_block(c_in, c_out, batch_norm=True)
        layers.append(nn.Flatten())
        self.net = nn.Sequential(*layers)
        h, w = seed_size(cfg.resolution)
        features = ch[-1] * h * w  # 4x4 feature map (4x8 for 64x128)
        self.mean = nn.Linear(features, cfg.z_dim)
        self.logvar = nn.Linear(features, cfg.z_dim)
        dcgan_init(self, norm_std=0)  # norm scales exactly 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return self.mean(h), self.logvar(h).clamp(*LOGVAR_RANGE)


class VAEDecoder(nn.Module):
    """z -> dense 4x4 -> (ConvTranspose 4/2/1 + BN + LeakyReLU) x log2(res/4) -> conv 3x3 -> tanh.

    With ``grey`` the last conv paints one grey channel (plus alpha) that becomes
    R, G and B (:mod:`artkit.nn.grey`).
    """

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.z_dim = cfg.z_dim
        self.channels = cfg.channels
        painted = painted_channels(cfg.channels, cfg.grey)
        seed = seed_size(cfg.resolution)
        self.net = nn.Sequential(*up_stack(cfg.z_dim, decoder_channels(cfg), painted, seed))
        dcgan_init(self, norm_std=0)  # norm scales exactly 1

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return colour_from_grey(self.net(z), self.channels)
