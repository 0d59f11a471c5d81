"""The GAN model family: networks G, D and G_ema plus one training step for every loss.

``mlp-gan`` and ``dcgan`` share this class; they differ only in their networks
(:mod:`artkit_gan.nn_networks`). The generic trainer (:mod:`artkit.train`) runs
the loop, EMA, precision and checkpoints; this file says what one step is:

1. ``d_steps`` discriminator updates on real vs generated images (DiffAugment
   applied to both when ``--augment`` is set, R1 / WGAN-GP penalties on demand);
2. one generator update through the (frozen) discriminator.

Sampling uses G_ema, the exponential moving average of G kept by the trainer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from artkit.errors import UsageError
from artkit.model import ArtModel
from artkit_gan.configs import DCGANConfig, MLPGANConfig
from artkit_gan.nn_augment import diff_augment
from artkit_gan.nn_losses import gradient_penalty, r1_penalty
from artkit_gan.nn_networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)


class GAN(ArtModel):
    network_names = ("G", "D", "G_ema")
    ema_pairs: ClassVar[dict[str, str]] = {"G": "G_ema"}
    default_loss = "bce"

    def __init__(
        self, config: Any, G: nn.Module, D: nn.Module, G_ema: nn.Module, *, registry_name: str
    ):
        super().__init__(config, registry_name=registry_name)
        self.G, self.D, self.G_ema = G, D, G_ema
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False).eval()

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.channels, c.resolution, c.resolution)

    # -- inference ----------------------------------------------------------------
    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        """``n`` latent vectors from a standard normal (drawn on the CPU), scaled by ``truncation``."""
        return torch.randn(n, self.z_dim, generator=generator) * truncation

    def latents_for_seeds(self, seeds: list[int], truncation: float = 1.0) -> torch.Tensor:
        """One latent per seed: the image for seed S is the same whatever else is in the batch."""
        from artkit.device import make_generator

        return torch.cat([self.latents(1, make_generator(s), truncation) for s in seeds])

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> images (N, C, H, W) in [-1, 1], through G_ema in float32."""
        return self.G_ema(z.to(self.device, torch.float32)).float()

    def sample(
        self, n: int, generator: torch.Generator | None = None, *, truncation: float = 1.0
    ) -> torch.Tensor:
        return self.generate(self.latents(n, generator, truncation))

    # -- training -----------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        lr_d = options.lr_d if options.lr_d is not None else options.lr
        if options.optimizer == "rmsprop":
            return {
                "D": torch.optim.RMSprop(self.D.parameters(), lr=lr_d),
                "G": torch.optim.RMSprop(self.G.parameters(), lr=options.lr),
            }
        betas = tuple(options.betas)
        return {
            "D": torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas),
            "G": torch.optim.Adam(self.G.parameters(), lr=options.lr, betas=betas),
        }

    def _d_logits(
        self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # One call on the concatenated batch is faster (and what DDP wants), but
        # BatchNorm must not mix real and fake statistics: call it twice then.
        if getattr(self.config, "d_norm", None) == "batch":
            return D(real), D(fake)
        logits = D(torch.cat([real, fake]))
        return logits[: real.shape[0]], logits[real.shape[0] :]

    def training_step(self, real: torch.Tensor, step: int, ctx: Any) -> dict[str, float]:
        opts, loss_fn = ctx.options, ctx.loss
        needs_gp = getattr(loss_fn, "needs_gradient_penalty", False)
        if ctx.world.distributed and (opts.r1 > 0 or needs_gp):
            raise UsageError(
                "R1 and WGAN-GP penalties need double backward, which DDP does not support yet; train on one process"
            )
        policy = opts.augment
        aug = (
            (lambda x: diff_augment(x, policy, generator=ctx.generator))
            if policy
            else (lambda x: x)
        )
        G, D = ctx.net("G"), ctx.net("D")
        n = real.shape[0]
        if ctx.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)

        ctx.raw("D").requires_grad_(True)
        out: dict[str, float] = {}
        for _ in range(opts.d_steps):
            z = ctx.randn(n, self.z_dim)
            real_in = real.detach().requires_grad_(opts.r1 > 0)
            with ctx.autocast():
                with torch.no_grad():
                    fake = G(z)
                real_logits, fake_logits = self._d_logits(D, aug(real_in), aug(fake))
                d_loss = loss_fn.d_loss(real_logits, fake_logits)
            if needs_gp:
                d_loss = d_loss + gradient_penalty(
                    lambda x: D(aug(x)), real, fake.float(), generator=ctx.generator
                )
            if opts.r1 > 0:
                d_loss = d_loss + r1_penalty(real_logits, real_in, opts.r1)
            ctx.step_optimizer("D", d_loss)
        out["d_loss"] = d_loss.item()
        out["d_real"] = real_logits.detach().float().mean().item()
        out["d_fake"] = fake_logits.detach().float().mean().item()

        # The G step needs gradients through D but not for D's weights: freezing D
        # saves a third of its backward pass, and calling it outside DDP stops DDP
        # from waiting for weight gradients that never come.
        ctx.raw("D").requires_grad_(False)
        D_local = ctx.net("D", sync=False)
        z = ctx.randn(n, self.z_dim)
        with ctx.autocast():
            fake = G(z)
            g_logits = D_local(aug(fake))
            g_loss = loss_fn.g_loss(g_logits, real_logits.detach())
        ctx.step_optimizer("G", g_loss)
        ctx.raw("D").requires_grad_(True)
        out["g_loss"] = g_loss.item()
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
