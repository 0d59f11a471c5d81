"""FastGAN networks (Liu et al. 2021): a generator with skip-layer excitation, a self-supervised D.

Both networks use the DCGAN channel plan keyed by feature-map side
(:func:`artkit.nn.dcgan.plan_channels`: 4 px -> 512, 8 -> 256, 16 -> 128, 32 -> 64,
64 and 128 -> 32 channels, all times ``width``), so a 64 px model is a 32 px one
with one more stage.

- The generator upsamples with nearest neighbour + conv 3x3 + BatchNorm + GLU
  (no checkerboard artefacts, unlike transposed convolutions), and each map at
  side ``s`` gates the channels of the one at ``8 s`` (skip-layer excitation):
  the coarse layout steers the fine texture without a costly residual path.
- The discriminator is spectral-normalised stride-2 blocks down to 4x4 and a
  logit. With ``reconstruct=n`` it also decodes its 8x8 features into 32x32
  images; training asks that to match the real image, so D must keep a faithful
  description of real images instead of memorising a few of them. The decoder
  has no BatchNorm (unlike the paper's) so real and fake still share one D call.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from artkit.nn.dcgan import down_block, plan_channels, pyramid_sides, seed_size
from artkit.nn.glu import GLU
from artkit.nn.init import dcgan_init
from artkit.nn.spectral import spectral_norm_all

from .configs import FastGANConfig

#: side of the image D's decoder reconstructs from its 8x8 features
RECON_SIDE = 32


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest 2x upsample + conv 3x3 + BatchNorm + GLU: doubles the side."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(2 * c_out),
        GLU(dim=1),
    )


class SkipExcitation(nn.Module):
    """Skip-layer excitation: a per-channel gate in (0, 1) for a big map, from a small one."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(c_small, c_big, 4, bias=False),  # 4x4 -> 1x1
            nn.LeakyReLU(0.1),
            nn.Conv2d(c_big, c_big, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        return big * self.net(small)


class FastGANGenerator(nn.Module):
    """z -> ConvTranspose 4x4 + BN + GLU -> up blocks (SLE 4->32, 8->64, 16->128) -> conv 3x3 -> tanh."""

    def __init__(self, cfg: FastGANConfig):
        super().__init__()
        self.z_dim = cfg.z_dim
        self.sides = pyramid_sides(cfg.resolution)
        ch = [plan_channels(s, cfg.width) for s in self.sides]
        self.init = nn.Sequential(
            # 1x1 -> seed map (4x4, or 4x8 for 32x64)
            nn.ConvTranspose2d(cfg.z_dim, 2 * ch[0], seed_size(cfg.resolution), bias=False),
            nn.BatchNorm2d(2 * ch[0]),
            GLU(dim=1),
        )
        self.ups = nn.ModuleList(up_block(a, b) for a, b in pairwise(ch))
        # keyed by the gated side; a side s map gates the one three doublings up
        self.sle = nn.ModuleDict(
            {str(8 * s): SkipExcitation(ch[i], ch[i + 3]) for i, s in enumerate(self.sides[:-3])}
        )
        self.to_image = nn.Sequential(nn.Conv2d(ch[-1], cfg.channels, 3, 1, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.init(z.view(z.shape[0], self.z_dim, 1, 1))
        feats = {4: x}
        for side, up in zip(self.sides[1:], self.ups, strict=True):
            x = up(x)
            if str(side) in self.sle:
                x = self.sle[str(side)](feats[side // 8], x)
            feats[side] = x
        return self.to_image(x)


class FastGANDiscriminator(nn.Module):
    """Spectral-normalised (conv 4/2/1 + LeakyReLU(0.2)) blocks to 4x4 -> conv 4x4 -> logit (N,).

    ``D(x)`` gives the logits; ``D(x, reconstruct=n)`` gives ``(logits, images)``,
    the images ``(n, C, 32, 32)`` in [-1, 1] decoded from the 8x8 features of the
    first ``n`` inputs (one call serves a real + fake batch, decoding the reals only).
    ``recon_weight=0`` builds no decoder. The logit conv is registered last, so it
    is the last conv in ``modules()`` (the ``checkpoint:`` feature extractor hooks it).
    """

    def __init__(self, cfg: FastGANConfig):
        super().__init__()
        sides = list(reversed(pyramid_sides(cfg.resolution)[:-1]))  # res/2, ..., 8, 4
        ch = [cfg.channels] + [plan_channels(s, cfg.width) for s in sides]
        blocks = [nn.Sequential(*down_block(a, b, batch_norm=False)) for a, b in pairwise(ch)]
        self.body = nn.Sequential(*blocks[:-1])  # res -> 8x8
        self.decoder = None
        if cfg.recon_weight > 0:
            # small on purpose: on a CPU, 3x3 convs at 32x32 cost more than all of D's trunk
            c16 = plan_channels(16, cfg.width)
            self.decoder = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(ch[-2], c16, 3, 1, 1),
                nn.LeakyReLU(0.2),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c16, cfg.channels, 3, 1, 1),
                nn.Tanh(),
            )
        # 8 -> 4 (the seed map: 4x4, or 4x8 for 32x64) -> 1x1
        head = nn.Conv2d(ch[-1], 1, seed_size(cfg.resolution))
        self.head = nn.Sequential(blocks[-1], head)
        dcgan_init(self)
        spectral_norm_all(self)  # after init: the power iteration starts from these weights

    def forward(
        self, x: torch.Tensor, reconstruct: int = 0
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        feat8 = self.body(x)
        logits = self.head(feat8).view(x.shape[0])
        if reconstruct <= 0:
            return logits
        if self.decoder is None:
            raise ValueError("this discriminator has no decoder (recon_weight=0)")
        return logits, self.decoder(feat8[:reconstruct])
