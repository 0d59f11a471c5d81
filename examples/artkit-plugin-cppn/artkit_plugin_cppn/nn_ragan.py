"""Relativistic average GAN loss (Jolicoeur-Martineau 2018), with logits.

The discriminator estimates how much more real a real image is than the average
fake (and the reverse); the generator gets the mirrored objective, so it also
learns from real images' logits. Same interface as artkit's built-in GAN losses
(``d_loss(real, fake)``, ``g_loss(fake, real)``), so ``artkit train dcgan --loss
ragan`` works without any change to the model.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from artkit.errors import UsageError


class RaGANLoss:
    name = "ragan"
    needs_gradient_penalty = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real, fake = real_logits.float(), fake_logits.float()
        return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        if real_logits is None:
            raise UsageError("ragan is relativistic: the model must pass real logits to g_loss")
        real, fake = real_logits.float(), fake_logits.float()
        return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()

    def __repr__(self) -> str:
        return "RaGANLoss()"
