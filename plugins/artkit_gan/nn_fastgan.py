"""FastGAN networks (Liu et al. 2021): a generator with skip-layer excitation, a self-supervised D.

Both networks use the DCGAN channel plan keyed by feature-map side
(:func:`artkit.nn.dcgan.plan_channels`: 4 px -> 512, 8 -> 256, 16 -> 128, 32 -> 64,
64 and 128 -> 32 channels, all times ``width``; D's also times ``d_width``), so a
64 px model is a 32 px one with one more stage.

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
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from artkit.nn.batch_norm import BatchNorm2d
from artkit.nn.dcgan import down_block, plan_channels, pyramid_sides, seed_size
from artkit.nn.glu import GLU
from artkit.nn.grey import colour_from_grey, painted_channels
from artkit.nn.init import dcgan_init
from artkit.nn.layout import leading_rows
from artkit.nn.minibatch_std import minibatch_std
from artkit.nn.small_conv import SeedConvTranspose
from artkit.nn.spectral import spectral_norm_all
from artkit.nn.upsample_conv import UpsampleConv3x3

from .configs import FastGANConfig

#: side of the image D's decoder reconstructs from its 8x8 features
RECON_SIDE = 32


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest 2x upsample + conv 3x3 + BatchNorm + GLU: doubles the side."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
        BatchNorm2d(2 * c_out),  # artkit's: fast on channels-last maps of few channels
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


class PaletteHead(nn.Module):
    """Paint an image from K colours chosen per image: flat areas, clean edges.

    The seed map (4x4, pooled) picks the K colours; the last feature map gives,
    per pixel, a softmax over them. A pixel's colour is the weighted mix, so
    inside an area it is exactly one colour and across an edge it blends two
    over about a pixel, as in an anti-aliased drawing. A free per-pixel RGB
    output has to learn flatness and hue agreement pixel by pixel; at fastgan's
    12 channels at 32 px it had not after the demo's few thousand steps (soft,
    neon-fringed blobs).
    """

    def __init__(self, c_seed: int, c_last: int, colours: int, channels: int):
        super().__init__()
        self.colours, self.channels = colours, channels
        self.pick = nn.Linear(c_seed, colours * channels)
        self.assign = nn.Conv2d(c_last, colours, 3, 1, 1)
        # a [1 2 1] x [1 2 1] / 16 blur of the choice logits: it zeroes the pixel-level
        # checkerboard, so G cannot dither two palette colours into a third (it did,
        # in patches, after the demo's steps); edges stay sharp, because a pixel's
        # colour follows the sign of logit differences, not their slope
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer(
            "smooth", (taps[:, None] * taps[None, :] / 16).expand(colours, 1, 3, 3).clone(),
            persistent=False,
        )  # fmt: skip

    def reset_parameters(self) -> None:
        """Unit-variance outputs: distinct colours and a decided pixel from the first step.

        With the DCGAN init's N(0, 0.02) both come out near zero: K near-grey colours
        mixed evenly, a flat grey image that takes many steps to leave.
        """
        for layer in (self.pick, self.assign):
            fan_in = layer.weight[0].numel()
            nn.init.normal_(layer.weight, 0.0, fan_in**-0.5)
            nn.init.zeros_(layer.bias)

    def forward(self, seed: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        palette = torch.tanh(self.pick(seed.mean(dim=(2, 3))))  # (N, K*C) in [-1, 1]
        palette = palette.view(-1, self.colours, self.channels)
        logits = F.pad(self.assign(last).float(), (1, 1, 1, 1), mode="replicate")
        logits = F.conv2d(logits, self.smooth, groups=self.colours)
        weights = torch.softmax(logits, dim=1)  # (N, K, H, W)
        return torch.einsum("nkhw,nkc->nchw", weights, palette.float())


class FastGANGenerator(nn.Module):
    """z -> ConvTranspose 4x4 + BN + GLU -> up blocks (SLE 4->32, 8->64, 16->128) -> image.

    The image comes from a conv 3x3 + tanh, or with ``palette=K`` from a
    :class:`PaletteHead`; with ``grey`` either paints one grey channel (plus alpha)
    that becomes R, G and B (:mod:`artkit.nn.grey`).
    """

    def __init__(self, cfg: FastGANConfig):
        super().__init__()
        # with classes the latent ends in a one-hot class: the first layer's weights
        # for those inputs are a learned embedding of each class
        self.z_dim = cfg.z_dim + cfg.classes
        self.channels = cfg.channels
        painted = painted_channels(cfg.channels, cfg.grey)
        self.sides = pyramid_sides(cfg.resolution)
        ch = [plan_channels(s, cfg.width) for s in self.sides]
        self.init = nn.Sequential(
            # 1x1 -> seed map (4x4, or 4x8 for 32x64)
            SeedConvTranspose(self.z_dim, 2 * ch[0], seed_size(cfg.resolution), bias=False),
            BatchNorm2d(2 * ch[0]),
            GLU(dim=1),
        )
        self.ups = nn.ModuleList(up_block(a, b) for a, b in pairwise(ch))
        # keyed by the gated side; a side s map gates the one three doublings up
        self.sle = nn.ModuleDict(
            {str(8 * s): SkipExcitation(ch[i], ch[i + 3]) for i, s in enumerate(self.sides[:-3])}
        )
        if cfg.palette:
            self.to_image = PaletteHead(ch[0], ch[-1], cfg.palette, painted)
        else:
            self.to_image = nn.Sequential(nn.Conv2d(ch[-1], painted, 3, 1, 1), nn.Tanh())
        dcgan_init(self)
        if isinstance(self.to_image, PaletteHead):
            self.to_image.reset_parameters()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.init(z.view(z.shape[0], self.z_dim, 1, 1))
        feats = {4: x}
        for side, up in zip(self.sides[1:], self.ups, strict=True):
            x = up(x)
            if str(side) in self.sle:
                x = self.sle[str(side)](feats[side // 8], x)
            feats[side] = x
        if isinstance(self.to_image, PaletteHead):
            image = self.to_image(feats[4], x)
        else:
            image = self.to_image(x)
        return colour_from_grey(image, self.channels)


class FastGANDiscriminator(nn.Module):
    """Spectral-normalised (conv 4/2/1 + LeakyReLU(0.2)) blocks to 4x4 -> conv 4x4 -> logit (N,).

    ``D(x)`` gives the logits; ``D(x, reconstruct=n)`` gives ``(logits, images)``,
    the images ``(n, C, 32, 32)`` in [-1, 1] decoded from the 8x8 features of the
    first ``n`` inputs (one call serves a real + fake batch, decoding the reals only).
    ``recon_weight=0`` builds no decoder. The logit conv is registered last, so it
    is the last conv in ``modules()`` (the ``checkpoint:`` feature extractor hooks it).

    With ``classes=K``, ``D(x, labels=y)`` is a projection discriminator (Miyato &
    Koyama 2018): the logit gains the dot product of a learned class embedding with
    D's pooled 4x4 features, so D asks "is this a real picture of class y", not only
    "is this real".

    ``D(x, features=True)`` also gives those pooled features, ``(what it gives
    otherwise, (N, C))``. With ``styles=S`` D holds ``style_head``, a linear classifier
    of S styles on them (see :mod:`artkit_gan.torch_fastgan`).

    With ``mbstd=G`` the last down block (8x8 -> 4x4) also reads, as one more channel,
    how much the 8x8 features vary across each group of G consecutive images
    (:mod:`artkit.nn.minibatch_std`; groups never mix a call's real and fake halves
    when G divides the batch), so a generator that draws too few kinds of picture is
    told apart by its groups. Opt-in: on 10-minute glyphs it left the medians level.
    """

    def __init__(self, cfg: FastGANConfig):
        super().__init__()
        sides = list(reversed(pyramid_sides(cfg.resolution)[:-1]))  # res/2, ..., 8, 4
        # fastgan's d_width widens D alone (shapegan's width is D's own already)
        width = cfg.width * getattr(cfg, "d_width", 1.0)
        ch = [cfg.channels] + [plan_channels(s, width) for s in sides]
        blocks = [nn.Sequential(*down_block(a, b, batch_norm=False)) for a, b in pairwise(ch)]
        self.body = nn.Sequential(*blocks[:-1])  # res -> 8x8
        self.decoder = None
        if cfg.recon_weight > 0:
            # small on purpose: on a CPU, 3x3 convs at 32x32 cost more than all of D's trunk
            c16 = plan_channels(16, width)
            self.decoder = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(ch[-2], c16, 3, 1, 1),
                nn.LeakyReLU(0.2),
                # the last upsampling happens inside the conv (faster on CPU); the
                # Identity keeps the layers' indices, which are checkpoint keys
                nn.Identity(),
                UpsampleConv3x3(c16, cfg.channels),
                nn.Tanh(),
            )
        classes = getattr(cfg, "classes", 0)
        self.embed = nn.Embedding(classes, ch[-1]) if classes else None
        # with mbstd=G the last down block also reads each group's spread (one channel
        # more at 8x8): before a conv and its nonlinearity, not only the linear logit
        self.mbstd = int(getattr(cfg, "mbstd", 0))
        if self.mbstd:
            blocks[-1] = nn.Sequential(*down_block(ch[-2] + 1, ch[-1], batch_norm=False))
        # 8 -> 4 (the seed map: 4x4, or 4x8 for 32x64) -> 1x1
        head = nn.Conv2d(ch[-1], 1, seed_size(cfg.resolution))
        self.head = nn.Sequential(blocks[-1], head)
        dcgan_init(self)
        if self.embed is not None:  # small: the projection starts near the plain logit
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        spectral_norm_all(self)  # after init: the power iteration starts from these weights
        # a plain classifier (no spectral norm, PyTorch's own init): its logits must be
        # free to grow as confident as the features allow
        styles = getattr(cfg, "styles", 0)
        self.style_head = nn.Linear(ch[-1], styles) if styles else None

    def forward(
        self,
        x: torch.Tensor,
        reconstruct: int = 0,
        labels: torch.Tensor | None = None,
        features: bool = False,
    ) -> Any:
        feat8 = self.body(x)
        feat4 = self.head[0](minibatch_std(feat8, self.mbstd) if self.mbstd else feat8)
        logits = self.head[1](feat4).view(x.shape[0])
        pooled = feat4.sum((2, 3)) if self.embed is not None or features else None
        if self.embed is not None:
            if labels is None:
                raise ValueError("a class-conditioned discriminator needs labels")
            logits = logits + (self.embed(labels).to(feat4.dtype) * pooled).sum(1)
        out: Any = logits
        if reconstruct > 0:
            if self.decoder is None:
                raise ValueError("this discriminator has no decoder (recon_weight=0)")
            out = (logits, self.decoder(leading_rows(feat8, reconstruct)))
        return (out, pooled) if features else out
