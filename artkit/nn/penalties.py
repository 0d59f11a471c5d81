"""Gradient penalties for discriminators: WGAN-GP and R1.

Both differentiate the discriminator's output with respect to its input and keep
the graph (double backward), so they train ``D``; DDP does not support that yet,
which :func:`artkit.nn.adversarial.check_penalties` reports as a usage error.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    weight: float = 10.0,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): ``weight * E[(||grad D(x_hat)||_2 - 1)^2]``.

    ``x_hat`` mixes each real image with a fake one at a random point (drawn from
    ``generator`` when given). The graph is kept so the penalty trains ``D``.
    """
    real, fake = real.detach(), fake.detach()
    alpha = torch.rand(
        (real.shape[0],) + (1,) * (real.ndim - 1),
        generator=generator,
        device=real.device,
        dtype=real.dtype,
    )
    x_hat = torch.lerp(fake, real, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).float().sum(), x_hat, create_graph=True)
    norm = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norm - 1) ** 2).mean()


def r1_penalty(real_logits: Tensor, real_images: Tensor, gamma: float) -> Tensor:
    """R1 (Mescheder et al. 2018): ``gamma / 2 * E[||grad D(x)||^2]`` on real images.

    ``real_images`` must have had ``requires_grad_(True)`` before ``D`` saw them.
    """
    if not real_images.requires_grad:
        raise ValueError("r1_penalty: call real_images.requires_grad_(True) before D(real_images)")
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return gamma / 2 * grad.float().flatten(1).pow(2).sum(1).mean()
