"""What every variational autoencoder in artkit shares: the Gaussian posterior and its KL.

The image VAE (``artkit_vae``) and the music VAE (``artkit_music``) are one machine
with other networks, reconstruction losses and priors. :class:`GaussianVAE` holds
the common part, so each family's file says only what differs:

- networks ``E`` (images -> posterior ``(mean, logvar)``) and ``G`` (latents ->
  images), trained together by one Adam (``vae``) with the usual betas (0.9, 0.999),
  not the GAN betas the trainer defaults to;
- :meth:`~GaussianVAE.posterior_sample`: encode under autocast, then ``z = mean + eps * std``
  with ``eps`` from the trainer's generator (so exact resume replays it);
- :meth:`~GaussianVAE.kl_loss`: KL(q || N(0, I)) per example, weighted by ``beta``
  warmed up linearly over ``kl_warmup`` steps, and with ``free_bits`` the KL of each
  latent dimension (batch mean) floored at that many nats (Kingma et al. 2016): no
  pressure below the floor, so the code stays informative;
- ``encode``/``decode``/``generate``/``reconstruct`` in eval mode (BatchNorm
  running statistics), float32 out, so an example's latent and a latent's picture
  never depend on the rest of the batch.

A subclass builds ``E`` and ``G``, says how its prior draws latents, and writes
``training_step`` (its reconstruction term) and ``evaluate``. Its config has
``z_dim``, ``beta``, ``kl_warmup`` and ``free_bits``.

This module imports torch and is only ever imported lazily.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from artkit.model import LatentModel, StepContext
from artkit.nn.modes import eval_mode


def kl_per_dim(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, 1)) per example and dimension, float32 ``(N, z_dim)``."""
    mean, logvar = mean.float(), logvar.float()
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)


class GaussianVAE(LatentModel):
    """An encoder ``E`` and a decoder ``G`` with a diagonal Gaussian posterior (see module doc)."""

    network_names: ClassVar[tuple[str, ...]] = ("E", "G")
    adversarial_options: ClassVar[frozenset[str] | None] = frozenset()
    ema_pairs: ClassVar[dict[str, str]] = {}
    trained_networks: ClassVar[tuple[str, ...]] = ("E", "G")
    #: the trainer sets this share of the data aside and logs ``val_*`` from :meth:`evaluate`
    holdout_fraction: ClassVar[float] = 0.05
    #: which method of a loss object the training step calls (the train command checks it)
    loss_method: ClassVar[str] = "reconstruction"
    default_lr: ClassVar[float] = 1e-3

    E: nn.Module
    G: nn.Module

    # -- inference (latents_for_seeds and sample come from LatentModel) ------------
    @torch.no_grad()
    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Examples in [-1, 1] -> posterior ``(mean, logvar)``, float32 ``(N, z_dim)``."""
        with eval_mode(self.E):
            mean, logvar = self.E(images.to(self.device, torch.float32))
        return mean.float(), logvar.float()

    @torch.no_grad()
    def decode(self, z: Tensor) -> Tensor:
        """Latents ``(N, z_dim)`` -> examples in [-1, 1], float32."""
        with eval_mode(self.G):
            return self.G(z.to(self.device, torch.float32)).float()

    def generate(self, z: Tensor) -> Tensor:
        """Latents -> examples; what ``artkit sample``/``interpolate`` call (same as :meth:`decode`)."""
        return self.decode(z)

    def reconstruct(self, images: Tensor) -> Tensor:
        """Encode to the posterior mean and decode it: deterministic."""
        return self.decode(self.encode(images)[0])

    # -- training -----------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        from artkit.nn.optim import adam

        params = [*self.E.parameters(), *self.G.parameters()]
        return {"vae": adam(params, lr=options.lr, betas=(0.9, 0.999))}

    def beta_at(self, step: int) -> float:
        """The KL weight at ``step``: ``beta``, ramped up linearly over ``kl_warmup`` steps."""
        beta, warmup = float(self.config.beta), self.config.kl_warmup
        return beta * min(1.0, step / warmup) if warmup > 0 else beta

    def posterior_sample(self, x: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor, Tensor]:
        """``(mean, logvar, z)`` of a training batch: float32, ``z`` drawn with ``ctx.randn``."""
        with ctx.autocast():
            mean, logvar = ctx.net("E")(x)
        mean, logvar = mean.float(), logvar.float()
        z = mean + ctx.randn(*mean.shape) * torch.exp(0.5 * logvar)
        return mean, logvar, z

    def kl_loss(self, mean: Tensor, logvar: Tensor, step: int) -> tuple[Tensor, Tensor, float]:
        """``(kl, weighted, beta)``: KL per example (batch mean), and ``beta`` times the
        term the loss takes (the KL, or with ``free_bits`` each dimension's floored)."""
        dims = kl_per_dim(mean, logvar)
        kl = dims.sum(1).mean()
        free_bits = float(self.config.free_bits)
        term = dims.mean(0).clamp(min=free_bits).sum() if free_bits > 0 else kl
        beta = self.beta_at(step)
        return kl, beta * term, beta
