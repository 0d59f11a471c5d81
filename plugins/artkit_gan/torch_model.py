"""The GAN model family: networks G, D and G_ema plus one training step for every loss.

``mlp-gan`` and ``dcgan`` share this class; they differ only in their networks
(:mod:`artkit_gan.nn_networks`); ``fastgan`` (:mod:`artkit_gan.torch_fastgan`)
adds a D loss term through :meth:`GAN.discriminate`. The generic trainer
(:mod:`artkit.train`) runs the loop, EMA, precision and checkpoints; this file
says what one step is:

1. ``d_steps`` discriminator updates on real vs generated images (DiffAugment
   applied to both when ``--augment`` is set, R1 / WGAN-GP penalties on demand);
2. one generator update through the (frozen) discriminator, on the fakes of the
   last discriminator update (G's forward pass is made once and serves both);
   with ``--mode-seeking`` G is also paid for pairs of fakes that differ
   (:meth:`GAN.pair_spread`).

Sampling uses G_ema, the exponential moving average of G kept by the trainer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from artkit.config_checks import image_size
from artkit.model import ADVERSARIAL_OPTIONS, LatentModel, StepContext
from artkit.nn.adversarial import adversarial_optimizers, check_penalties, d_logits
from artkit.nn.batch_norm import recalibrate_batch_norm
from artkit.nn.diffaugment import diff_augment
from artkit.nn.penalties import gradient_penalty, r1_penalty
from artkit_gan.configs import DCGANConfig, MLPGANConfig
from artkit_gan.nn_networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)


class GAN(LatentModel):
    network_names = ("G", "D", "G_ema")
    adversarial_options: ClassVar[frozenset[str] | None] = frozenset(ADVERSARIAL_OPTIONS)
    ema_pairs: ClassVar[dict[str, str]] = {"G": "G_ema"}
    default_loss: ClassVar[str] = "bce"

    def __init__(
        self, config: Any, G: nn.Module, D: nn.Module, G_ema: nn.Module, *, registry_name: str
    ):
        super().__init__(config, registry_name=registry_name)
        self.G, self.D, self.G_ema = G, D, G_ema
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False).eval()
        # BatchNorm in D must not mix real and fake statistics (one D call each then)
        self._d_has_batch_norm = any(
            isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in D.modules()
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.channels, *image_size(c.resolution))

    # -- inference (latents, latents_for_seeds and sample come from LatentModel) ------
    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> images (N, C, H, W) in [-1, 1], through G_ema in float32."""
        return self.G_ema(z.to(self.device, torch.float32)).float()

    # -- training -----------------------------------------------------------------
    def training_latents(
        self, n: int, ctx: StepContext, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """One step's latents: noise from the trainer, then (with classes) the batch's labels.

        The fakes take the real batch's classes, so D compares like with like and
        G learns each class as often as the data has it.
        """
        classes = self.num_classes
        noise = ctx.randn(n, self.z_dim - classes)
        if not classes:
            return noise
        labels = ctx.labels if labels is None else labels
        if labels is None:
            raise RuntimeError("a class-conditioned step got no labels")
        return torch.cat([noise, self.one_hot(labels).to(noise)], dim=1)

    @staticmethod
    def judge(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None, **options: Any) -> Any:
        """D's logits for ``x``; with labels, D judges each image as a picture of its class.

        ``options`` go to D as they are (fastgan's ``features=True``)."""
        return D(x, **options) if labels is None else D(x, labels=labels, **options)

    def discriminate(
        self,
        D: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        labels: torch.Tensor | None = None,
        fake_labels: torch.Tensor | None = None,
        styles: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """D's logits for real and fake, plus extra D loss terms by name (none here).

        ``labels``: the class of each real image, and of the fake made for it (a
        model with classes); ``fake_labels``: the fakes' classes where they differ
        (``--mode-seeking`` pairs them); ``styles``: the real images' styles (a model
        with ``num_styles``). The hook for a discriminator that learns more than
        real vs fake (FastGAN's reconstruction and styles): the terms join the D loss
        and are logged under their names.
        """
        fake_labels = labels if fake_labels is None else fake_labels
        classes = None if labels is None else (labels, fake_labels)
        real_logits, fake_logits = d_logits(
            D, real, fake, separate=self._d_has_batch_norm, labels=classes
        )
        return real_logits, fake_logits, {}

    def judge_fakes(
        self, D: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None, ctx: StepContext
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's logits for the fakes in G's step, plus extra G loss terms by name (none here).

        The hook for a generator paid for more than fooling D (fastgan's styles): the
        terms join the G loss and are logged under their names.
        """
        return self.judge(D, fake, labels), {}

    def after_training(self, images: Iterator[torch.Tensor], ctx: StepContext) -> None:
        """Give G_ema BatchNorm statistics of its own weights (see :mod:`artkit.nn.batch_norm`).

        During training G_ema's statistics are G's, copied each step; here they are
        measured on G_ema itself, in float32 as it samples, from latents of a fixed
        seed (training's random streams are untouched, so exact resume holds). Without
        ``--ema`` the trainer makes G_ema a copy of G after this, statistics included.
        """
        g = torch.Generator(device=self.device).manual_seed(ctx.options.seed + 104729)
        classes = self.num_classes

        def latents(n: int) -> torch.Tensor:
            noise = torch.randn(n, self.z_dim - classes, generator=g, device=self.device)
            if not classes:
                return noise
            drawn = torch.randint(classes, (n,), generator=g, device=self.device)
            return torch.cat([noise, self.one_hot(drawn).to(noise)], dim=1)

        recalibrate_batch_norm(self.G_ema, latents)

    def pair_spread(self, fake: torch.Tensor, z: torch.Tensor, half: int) -> torch.Tensor:
        """MSGAN's ratio (Mao et al. 2019): how far apart the pictures of the pairs (fake i,
        fake i + ``half``) are, per unit of distance between their latent noise.

        ``--mode-seeking W`` adds ``W / ratio`` to G's loss, so G cannot make one picture
        of many latents: a conditioned GAN otherwise learns fewer styles of each class
        than the data has. Mean absolute differences, as the paper's code has them; a
        one-hot class is not noise.
        """
        noise = self.z_dim - self.num_classes
        pictures = (fake[:half].float() - fake[half : 2 * half].float()).abs().mean()
        latents = (z[:half, :noise] - z[half : 2 * half, :noise]).abs().mean()
        return pictures / latents

    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        return adversarial_optimizers(options, self.G, self.D)

    def training_step(self, real: torch.Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        opts, loss_fn = ctx.options, ctx.loss
        needs_gp = check_penalties(ctx, loss_fn)
        policy = opts.augment
        aug = (
            (lambda x: diff_augment(x, policy, generator=ctx.generator))
            if policy
            else (lambda x: x)
        )
        G, D = ctx.net("G"), ctx.net("D")
        n = real.shape[0]
        labels = ctx.labels if self.num_classes else None
        styles = ctx.styles if self.num_styles else None
        # --mode-seeking (MSGAN): fake i and fake i + n//2 form a pair of one class
        seeking = opts.mode_seeking > 0 and n >= 2
        half = n // 2
        fake_labels = labels
        if seeking and labels is not None:
            fake_labels = torch.cat([labels[:half], labels[:half], labels[2 * half :]])
        if ctx.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)

        ctx.raw("D").requires_grad_(True)
        out: dict[str, float] = {}
        for d_step in range(opts.d_steps):
            z = self.training_latents(n, ctx, fake_labels)
            real_in = real.detach().requires_grad_(opts.r1 > 0)
            # The last D update's fakes are made with G's graph kept, and the G step
            # below reuses them (as pytorch/examples' DCGAN does): one G forward fewer
            # per step. D never sees that graph: it gets the fakes detached.
            last = d_step == opts.d_steps - 1
            with ctx.autocast():
                with torch.set_grad_enabled(last):
                    fake = G(z)
                if ctx.channels_last:  # a painter's NCHW pictures: converted once, not per use
                    fake = fake.contiguous(memory_format=torch.channels_last)
                real_logits, fake_logits, extra = self.discriminate(
                    D, aug(real_in), aug(fake.detach()), labels, fake_labels, styles
                )
                d_loss = loss_fn.d_loss(real_logits, fake_logits) + sum(extra.values())
            if needs_gp:
                d_loss = d_loss + gradient_penalty(
                    lambda x: self.judge(D, aug(x), labels),
                    real,
                    fake.detach().float(),
                    generator=ctx.generator,
                )
            if opts.r1 > 0:
                d_loss = d_loss + r1_penalty(real_logits, real_in, opts.r1)
            ctx.step_optimizer("D", d_loss)
        out["d_loss"] = d_loss.item()
        out.update({k: v.item() for k, v in extra.items()})
        out["d_real"] = real_logits.detach().float().mean().item()
        out["d_fake"] = fake_logits.detach().float().mean().item()

        # The G step needs gradients through D but not for D's weights: freezing D
        # saves a third of its backward pass, and calling it outside DDP stops DDP
        # from waiting for weight gradients that never come.
        ctx.raw("D").requires_grad_(False)
        D_local = ctx.net("D", sync=False)
        with ctx.autocast():
            g_logits, g_extra = self.judge_fakes(D_local, aug(fake), fake_labels, ctx)
            g_loss = loss_fn.g_loss(g_logits, real_logits.detach()) + sum(g_extra.values())
            if seeking:
                spread = self.pair_spread(fake, z, half)
                g_loss = g_loss + opts.mode_seeking / (spread + 1e-5)
                out["pair_spread"] = spread.item()
        ctx.step_optimizer("G", g_loss)
        ctx.raw("D").requires_grad_(True)
        out["g_loss"] = g_loss.item()
        out.update({k: v.item() for k, v in g_extra.items()})
        return out


def build_dcgan(**options: Any) -> GAN:
    cfg = DCGANConfig(**options)
    return GAN(
        cfg,
        DCGANGenerator(cfg),
        DCGANDiscriminator(cfg),
        DCGANGenerator(cfg),
        registry_name="dcgan",
    )


def build_mlp_gan(**options: Any) -> GAN:
    cfg = MLPGANConfig(**options)
    return GAN(
        cfg, MLPGenerator(cfg), MLPDiscriminator(cfg), MLPGenerator(cfg), registry_name="mlp-gan"
    )
