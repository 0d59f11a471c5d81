"""The ``fastgan`` model: the GAN step plus the discriminator's reconstruction of real images.

Everything but the D loss is the GAN family's (:class:`artkit_gan.torch_model.GAN`):
G_ema sampling, EMA, truncation, every ``--loss``, DiffAugment, R1 and WGAN-GP.
The D loss gains ``recon_weight * L1(decoder(D's 8x8 features), real at 32x32)``
on the real half of the batch; the target is the image D saw (augmented when
``--augment`` is on), so the task stays consistent with D's input.

With ``styles=S`` (glyphs: their fonts) D holds a linear style classifier on its
pooled 4x4 features, trained on the real images' styles (cross-entropy, logged as
``style_loss``) with those features detached, so learning the styles takes nothing
from D's judging; G pays ``style_weight`` times KL(drawn || data): ``drawn`` is the
batch's mean style distribution as the classifier reads its fakes, ``data`` the
styles' shares of the training images (logged as ``style_gap``). G is never told which
style to draw; the term only makes a style it drops, or over-draws, cost it.

Why detached, on 10-minute glyphs (22 fonts, with the recipe's classes and mode
seeking): with the style loss training D's trunk too, two runs of three drew the
dropped fonts back (FD 0.064 and 0.059 in random-conv features) but the third painted
flat grey squares for 1.3% of its seeds (FD 1.55); D had turned its features to the
fonts (the style loss fell to 0.004, every real glyph's font memorised). Weighting each
fake by how real D found it did not stop that (2.5%, FD 2.90), and a classifier that
also learned fakes as a class of their own overpowered D (FD 0.24). Detached, three
runs stayed clean and drew the hairline font back (recall of its glyphs 0.45-0.68
against 0.37-0.55) but left the medians level (FD 0.069 / 0.82 against 0.068 / 0.82,
random-conv / classifier): so no recipe turns it on.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from artkit.config_checks import image_size
from artkit.errors import UsageError
from artkit_gan.configs import FastGANConfig, ShapeGANConfig
from artkit_gan.nn_fastgan import FastGANDiscriminator, FastGANGenerator
from artkit_gan.nn_shapegan import ShapePainter
from artkit_gan.torch_model import GAN


class FastGAN(GAN):
    #: FastGAN trains with the hinge loss (Liu et al. 2021)
    default_loss: ClassVar[str] = "hinge"

    @property
    def num_classes(self) -> int:
        """``config.classes``: 0, or the K classes G draws and D judges (a projection D)."""
        return int(self.config.classes)

    @property
    def num_styles(self) -> int:
        """``config.styles``: 0, or the S styles D learns to tell apart and G is paid to draw
        in the data's shares (shapegan has no such field: 0)."""
        return int(getattr(self.config, "styles", 0))

    @torch.no_grad()
    def generate(self, z: torch.Tensor, *, label: int | str | None = None) -> torch.Tensor:
        """Latents -> images in [-1, 1]; ``label`` (a number, or a name such as ``"A"``) paints
        every one as that class (``classes=K``).

        Without it each latent's own class is drawn (from its seed); with it the same
        seed keeps its noise -- its style -- in another class.
        """
        return super().generate(z if label is None else self.with_class(z, label))

    def discriminate(
        self,
        D: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        labels: torch.Tensor | None = None,
        fake_labels: torch.Tensor | None = None,
        styles: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One D call on real + fake; the reconstruction of the real half, and the
        classification of its styles, are extra losses."""
        weight = self.config.recon_weight
        if not weight and styles is None:
            return super().discriminate(D, real, fake, labels, fake_labels)
        n = real.shape[0]
        fake_labels = labels if fake_labels is None else fake_labels
        both = None if labels is None else torch.cat([labels, fake_labels])
        out = D(
            torch.cat([real, fake]),
            reconstruct=n if weight else 0,
            labels=both,
            features=styles is not None,
        )
        extra: dict[str, torch.Tensor] = {}
        if styles is not None:
            out, pooled = out
            read = self._style_head()(pooled[:n].detach().float())
            extra["style_loss"] = F.cross_entropy(read, styles)
        if not weight:
            return out[:n], out[n:], extra
        logits, recon = out
        # RECON_SIDE (32) px on the shorter side: 32x32, or 32x64 for a 64x128 model
        target = real.detach()
        if target.shape[-2:] != recon.shape[-2:]:  # area-resizing to the same size is a copy
            target = F.interpolate(target, size=tuple(recon.shape[-2:]), mode="area")
        loss = weight * F.l1_loss(recon.float(), target.float())
        return logits[:n], logits[n:], {"recon_loss": loss, **extra}

    def judge_fakes(
        self, D: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None, ctx: Any
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's logits for the fakes; with styles, also G's ``style_gap`` term (module docstring)."""
        if not self.num_styles:
            return super().judge_fakes(D, fake, labels, ctx)
        logits, pooled = self.judge(D, fake, labels, features=True)
        read = self._style_head()(pooled.float())
        drawn = torch.softmax(read.float(), dim=1).mean(0)
        shares = ctx.style_shares
        if shares is None:
            raise RuntimeError("a step that learns styles got no style shares")
        gap = (drawn * (torch.log(drawn + 1e-8) - torch.log(shares.clamp_min(1e-8)))).sum()
        return logits, {"style_gap": self.config.style_weight * gap}

    def _style_head(self) -> nn.Module:
        """D's style classifier (from the model's own D: the step's may be a DDP or compile
        wrapper)."""
        head = getattr(self.D, "style_head", None)
        if head is None:
            raise ValueError("this discriminator learns no styles (styles=0)")
        return head


def build_fastgan(**options: Any) -> FastGAN:
    cfg = FastGANConfig(**options)
    return FastGAN(
        cfg,
        FastGANGenerator(cfg),
        FastGANDiscriminator(cfg),
        FastGANGenerator(cfg),
        registry_name="fastgan",
    )


class ShapeGAN(FastGAN):
    """fastgan's discriminator and step; the generator paints shapes (:mod:`artkit_gan.nn_shapegan`)."""

    #: the largest side ``generate(width=, height=)`` paints: a 2048 px RGB picture is
    #: 50 MB of float32, and ``Model.sample`` holds a batch of them (64 by default)
    MAX_SIDE = 2048

    def compile_for_training(self) -> bool:
        """With ``--compile`` only the painter is compiled: it is where the time goes."""
        self.G.compile_painting()
        return True

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        *,
        width: int | None = None,
        height: int | None = None,
        label: int | str | None = None,
    ) -> torch.Tensor:
        """Latents -> images in [-1, 1]; ``width`` / ``height`` paint them at another size,
        ``label`` as that class (``classes=K``).

        The shapes are geometry, so a 32 px model drawn at 1024 px keeps crisp edges
        (``Model.sample(seeds, width=1024, height=1024)``, or a series' sweep).
        """
        if label is not None:
            z = self.with_class(z, label)
        if width is None and height is None:
            return super().generate(z)
        trained_h, trained_w = image_size(self.config.resolution)
        h = trained_h if height is None else height
        w = trained_w if width is None else width
        for name, side in (("width", w), ("height", h)):
            ok = isinstance(side, int) and not isinstance(side, bool) and 1 <= side <= self.MAX_SIDE
            if not ok:
                raise UsageError(
                    f"shapegan: {name}={side!r} must be a whole number of pixels from 1 to "
                    f"{self.MAX_SIDE}"
                )
        return self.G_ema.draw(z.to(self.device, torch.float32), h, w).float()


def build_shapegan(**options: Any) -> ShapeGAN:
    cfg = ShapeGANConfig(**options)

    def painter() -> ShapePainter:
        return ShapePainter(
            resolution=cfg.resolution,
            channels=cfg.channels,
            z_dim=cfg.z_dim + cfg.classes,
            shapes=cfg.shapes,
            hidden=cfg.hidden,
            edge=cfg.edge,
        )

    return ShapeGAN(cfg, painter(), FastGANDiscriminator(cfg), painter(), registry_name="shapegan")
