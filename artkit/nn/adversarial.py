"""What every adversarial model's training does alike: optimisers, one D call, penalty checks.

The GAN family and pix2pix (and any plugin with a generator ``G`` and a
discriminator ``D``) differ in what they feed ``D``, not in how they set up or
call it; this module is that common part, so ``--optimizer``, ``--lr-d``,
``--betas``, ``--r1`` and ``--loss`` mean the same for all of them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.nn.optim import adam, rmsprop


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


def d_logits(D: nn.Module, real: Tensor, fake: Tensor, *, separate: bool) -> tuple[Tensor, Tensor]:
    """D's logits for a real and a fake batch.

    One call on the concatenated batch is faster (and what DDP wants), but
    BatchNorm must not mix real and fake statistics: ``separate=True`` (a D with
    BatchNorm) calls it twice.
    """
    if separate:
        return D(real), D(fake)
    logits = D(torch.cat([real, fake]))
    return logits[: real.shape[0]], logits[real.shape[0] :]


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
