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

from artkit.nn.dcgan import down_block, plan_channels, pyramid_sides, seed_size, up_stack
from artkit.nn.grey import colour_from_grey, painted_channels
from artkit.nn.init import dcgan_init
from artkit.nn.spectral import spectral_norm_all

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
# Both networks share one channel plan keyed by feature-map side
# (:func:`artkit.nn.dcgan.plan_channels`), so a 64 px generator is a 32 px one with
# one more stage: 4 px -> 512, 8 -> 256, 16 -> 128, 32 -> 64, 64 -> 32, 128 -> 32
# channels, all times ``width``.


class DCGANGenerator(nn.Module):
    """z -> dense 4x4 -> (ConvTranspose 4/2/1 + BN + LeakyReLU) x log2(res/4) -> conv 3x3 -> tanh.

    With ``grey`` the last conv paints one grey channel (plus alpha) that becomes
    R, G and B (:mod:`artkit.nn.grey`).
    """

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.z_dim = cfg.z_dim
        self.channels = cfg.channels
        painted = painted_channels(cfg.channels, cfg.grey)
        ch = [plan_channels(s, cfg.width) for s in pyramid_sides(cfg.resolution)]
        self.net = nn.Sequential(*up_stack(cfg.z_dim, ch, painted, seed_size(cfg.resolution)))
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return colour_from_grey(self.net(z), self.channels)


class DCGANDiscriminator(nn.Module):
    """(Conv 4/2/1 + norm + LeakyReLU(0.2)) x log2(res/4) down to 4x4 -> conv 4x4 -> logit.

    ``d_norm``: ``batch`` (BatchNorm after every conv but the first), ``spectral``
    (spectral norm on every conv, the logit one included) or ``none``.
    """

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        ch = [cfg.channels] + [
            plan_channels(s, cfg.width) for s in reversed(pyramid_sides(cfg.resolution)[:-1])
        ]
        batch = cfg.d_norm == "batch"
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(pairwise(ch)):
            layers += down_block(c_in, c_out, batch_norm=batch and i > 0)
        # seed map (4x4, or 4x8 for 64x128) -> 1x1: one logit per image
        layers.append(nn.Conv2d(ch[-1], 1, seed_size(cfg.resolution)))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if cfg.d_norm == "spectral":  # after init: the power iteration starts from these weights
            spectral_norm_all(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
