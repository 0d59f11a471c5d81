"""GAN losses behind one small interface (the GAN family, pix2pix, any adversarial plugin).

They live in the core so that every adversarial model trains with the same
objectives: the GAN plugin registers them by name (``--loss bce|hinge|lsgan|
wgan-gp``), and a plugin's own loss (say a relativistic one) needs only the same
``d_loss``/``g_loss``/``needs_gradient_penalty`` interface.

Every loss maps discriminator logits (any shape, usually ``(N,)``) to a float32
scalar, even when the logits come from bf16/fp16 autocast. A training step calls::

    loss = make_loss("hinge")
    d = loss.d_loss(D(real), D(fake.detach()))
    if loss.needs_gradient_penalty:
        d = d + gradient_penalty(D, real, fake.detach())   # artkit.nn.penalties
    g = loss.g_loss(D(fake), real_logits)   # real_logits only matters to relativistic losses
"""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor

from artkit.errors import UnknownNameError

#: how far from 0 and 1 ``BCELoss.reconstruction`` clamps its predictions
_BCE_EPS = 1e-6


class GANLoss:
    """Discriminator and generator objectives for one GAN formulation."""

    name: ClassVar[str] = ""
    needs_gradient_penalty: ClassVar[bool] = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BCELoss(GANLoss):
    """Non-saturating GAN (Goodfellow et al. 2014) with logits; softplus keeps it stable."""

    name = "bce"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return F.softplus(-fake_logits.float()).mean()

    def reconstruction(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """Autoencoders (the VAE family): per-image binary cross-entropy, shape ``(N,)``.

        Images in ``[-1, 1]`` are mapped to ``[0, 1]`` and read as Bernoulli
        probabilities; the sum runs over pixels, in float32, with the prediction
        clamped away from 0 and 1 so ``log`` stays finite.
        """
        p = x_hat.float().add(1).mul(0.5).clamp(_BCE_EPS, 1 - _BCE_EPS)
        t = x.float().add(1).mul(0.5).clamp(0, 1)
        # written out rather than F.binary_cross_entropy, which autocast refuses
        nll = -(t * p.log() + (1 - t) * (1 - p).log())
        return nll.flatten(1).sum(1)


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN)."""

    name = "hinge"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.float().mean()


class LSGANLoss(GANLoss):
    """Least squares GAN (Mao et al. 2017), targets 1 for real and 0 for fake."""

    name = "lsgan"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real, fake = real_logits.float(), fake_logits.float()
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return 0.5 * ((fake_logits.float() - 1) ** 2).mean()


class WGANGPLoss(GANLoss):
    """Wasserstein critic loss (Arjovsky et al. 2017); add :func:`gradient_penalty` to ``d_loss``."""

    name = "wgan-gp"
    needs_gradient_penalty = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().mean() - real_logits.float().mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.float().mean()


LOSSES: dict[str, type[GANLoss]] = {c.name: c for c in (BCELoss, HingeLoss, LSGANLoss, WGANGPLoss)}


def make_loss(name: str) -> GANLoss:
    """The loss called ``name``; an unknown name is a UsageError with suggestions."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise UnknownNameError("GAN losses", name, LOSSES) from None
