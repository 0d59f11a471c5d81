"""Reconstruction losses for autoencoders, behind one small interface.

A reconstruction loss maps a decoded batch ``x_hat`` and its target ``x`` (both
``(N, C, H, W)`` in ``[-1, 1]``) to one float32 value per image, shape ``(N,)``,
summed over pixels -- the negative log-likelihood of a pixel-wise decoder up to
constants, so it adds to the KL term in nats. Inputs may come from bf16/fp16
autocast; the arithmetic is float32. A VAE training step calls::

    recon = loss.reconstruction(G(z), x).mean()

``bce`` (the same registry entry as the GAN loss) lives in
:class:`artkit.nn.gan_losses.BCELoss` (registered by the GAN plugin); any registered loss with a
``reconstruction`` method works with the VAE.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor


class ReconstructionLoss:
    """Per-image reconstruction error, summed over pixels, in float32."""

    name: ClassVar[str] = ""

    def reconstruction(self, x_hat: Tensor, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(ReconstructionLoss):
    """Squared error: a Gaussian decoder with fixed variance."""

    name = "mse"

    def reconstruction(self, x_hat: Tensor, x: Tensor) -> Tensor:
        return (x_hat.float() - x.float()).square().flatten(1).sum(1)


class L1Loss(ReconstructionLoss):
    """Absolute error: a Laplace decoder; blurs less than squared error."""

    name = "l1"

    def reconstruction(self, x_hat: Tensor, x: Tensor) -> Tensor:
        return (x_hat.float() - x.float()).abs().flatten(1).sum(1)


LOSSES: dict[str, type[ReconstructionLoss]] = {c.name: c for c in (MSELoss, L1Loss)}
