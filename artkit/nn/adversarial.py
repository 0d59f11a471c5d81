"""What every adversarial model's training does alike: optimisers, one D call, penalty checks.

The GAN family and pix2pix (and any plugin with a generator ``G`` and a
discriminator ``D``) differ in what they feed ``D``, not in how they set up or
call it; this module is that common part, so ``--optimizer``, ``--lr-d``,
``--betas``, ``--r1`` and ``--loss`` mean the same for all of them.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.nn.optim import adam, rmsprop
from artkit.nn.split_batch_norm import separate_parts, splits_batches


def adversarial_optimizers(
    options: Any, G: nn.Module, D: nn.Module
) -> dict[str, torch.optim.Optimizer]:
    """``{"D": ..., "G": ...}`` from ``--optimizer`` (adam or rmsprop), ``--lr``, ``--lr-d``, ``--betas``.

    D is created first: optimiser order is part of a run's saved state.
    """
    lr_d = options.lr_d if options.lr_d is not None else options.lr
    if options.optimizer == "rmsprop":
        return {
            "D": rmsprop(D.parameters(), lr=lr_d),
            "G": rmsprop(G.parameters(), lr=options.lr),
        }
    betas = tuple(options.betas)
    return {
        "D": adam(D.parameters(), lr=lr_d, betas=betas),
        "G": adam(G.parameters(), lr=options.lr, betas=betas),
    }


def d_logits(
    D: nn.Module,
    real: Tensor,
    fake: Tensor,
    *,
    separate: bool,
    labels: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """D's logits for a real and a fake batch (``labels``: each batch's classes, for a D
    that takes them as ``D(x, labels=...)``).

    One call on the concatenated batch is faster (and what DDP wants), but
    BatchNorm must not mix real and fake statistics: with ``separate=True`` (a D with
    BatchNorm) the batches are normalised apart, in one call where D's BatchNorm
    layers can do that (:mod:`artkit.nn.split_batch_norm`) and no gradient by the
    real images is wanted (R1), else in two calls.
    """

    def judge(x: Tensor, classes: Tensor | None) -> Tensor:
        return D(x) if classes is None else D(x, labels=classes)

    real_labels, fake_labels = labels if labels is not None else (None, None)
    # R1 differentiates the real logits by the real images: through one call on both
    # batches that gradient would run through the fakes' half of D as well
    if separate and (real.requires_grad or not splits_batches(D)):
        return judge(real, real_labels), judge(fake, fake_labels)
    n = real.shape[0]
    both = None if labels is None else torch.cat(labels)
    parts = separate_parts(D, (n, fake.shape[0])) if separate else contextlib.nullcontext()
    with parts:
        logits = judge(torch.cat([real, fake]), both)
    return logits[:n], logits[n:]


def require_gan_loss(loss: Any, model: str, fitting: str = "bce, hinge, lsgan or wgan-gp") -> Any:
    """``loss`` when it has the GAN interface (``d_loss``/``g_loss``), else a one-line UsageError."""
    if not callable(getattr(loss, "d_loss", None)) or not callable(getattr(loss, "g_loss", None)):
        what = getattr(loss, "name", "") or type(loss).__name__
        raise UsageError(f"loss {what!r} is not a GAN loss; {model} trains with {fitting}")
    return loss


def needs_gradient_penalty(loss: Any) -> bool:
    """Whether ``loss`` wants WGAN-GP's penalty added to ``d_loss`` (a plugin loss may not say)."""
    return bool(getattr(loss, "needs_gradient_penalty", False))


def check_penalties(ctx: Any, loss: Any) -> bool:
    """Refuse R1/WGAN-GP under DDP (double backward); return whether WGAN-GP's penalty is wanted."""
    needs_gp = needs_gradient_penalty(loss)
    if ctx.world.distributed and (ctx.options.r1 > 0 or needs_gp):
        raise UsageError(
            "R1 and WGAN-GP penalties need double backward, which DDP does not support yet; train on one process"
        )
    return needs_gp
