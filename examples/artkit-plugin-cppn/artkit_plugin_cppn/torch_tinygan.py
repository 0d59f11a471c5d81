"""The ``tinygan`` model: the trainable half of artkit's model contract, on one screen.

artkit's trainer owns the loop, devices, precision, EMA, checkpoints and resume; a
trainable model says only which optimisers it has (:meth:`configure_optimizers`)
and what one step is (:meth:`training_step`, through the ``ctx`` the trainer hands
it). The class attributes tell the trainer the rest. ``generate`` takes a sampling
option of this model's own, ``contrast``: ``Model.sample(..., contrast=2)`` and a
series' ``contrast = [0.5, 1, 2]`` axis both reach it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.model import LatentModel, StepContext
from artkit.nn.adversarial import needs_gradient_penalty
from artkit.nn.diffaugment import diff_augment
from artkit.nn.penalties import gradient_penalty
from artkit_plugin_cppn.configs import TinyGANConfig


def _generator(c: TinyGANConfig) -> nn.Module:
    """z -> 4x4 maps -> (upsample, conv) until ``resolution`` -> pre-tanh pixels."""
    layers: list[nn.Module] = [nn.Linear(c.z_dim, c.width * 16), nn.Unflatten(1, (c.width, 4, 4))]
    for _ in range(c.resolution.bit_length() - 3):  # 4 -> 8 -> ... -> resolution
        layers += [nn.Upsample(scale_factor=2), nn.Conv2d(c.width, c.width, 3, padding=1)]
        layers += [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Conv2d(c.width, c.channels, 3, padding=1))


def _discriminator(c: TinyGANConfig) -> nn.Module:
    """Strided convs down to 4x4, then one logit per image."""
    layers: list[nn.Module] = []
    for i in range(c.resolution.bit_length() - 3):
        layers += [nn.Conv2d(c.channels if i == 0 else c.width, c.width, 4, 2, 1)]
        layers += [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c.width * 16, 1))


class TinyGAN(LatentModel):
    network_names = ("G", "D", "G_ema")  # saved under these prefixes
    ema_pairs: ClassVar[dict[str, str]] = {"G": "G_ema"}  # the trainer keeps G_ema; we sample it
    default_loss: ClassVar[str] = "hinge"  # without --loss; any loss with d_loss fits (loss_method)
    default_lr: ClassVar[float] = 1e-3  # without --lr: a net this small learns fast

    def __init__(self, config: TinyGANConfig, *, registry_name: str = "tinygan"):
        super().__init__(config, registry_name=registry_name)
        self.G, self.D, self.G_ema = _generator(config), _discriminator(config), _generator(config)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False)

    # -- sampling: LatentModel draws the latents; this paints them --------------------
    @torch.no_grad()
    def generate(self, z: Tensor, *, contrast: float = 1.0) -> Tensor:
        """Latents -> images in [-1, 1]; ``contrast`` scales G's output before the tanh
        (above 1 bolder, below 1 greyer): a keyword here is a sampling option."""
        ok = isinstance(contrast, int | float) and not isinstance(contrast, bool)
        if not ok or not 0 < contrast <= 100:
            raise UsageError(f"tinygan: contrast={contrast!r} must be a number above 0")
        return torch.tanh(contrast * self.G_ema(z.to(self.device, torch.float32)).float())

    # -- training: the trainer calls these two --------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network, by the names ``ctx.step_optimizer`` takes (and resume saves)."""
        betas = tuple(options.betas)
        lr_d = options.lr_d or options.lr
        return {
            "D": torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas),
            "G": torch.optim.Adam(self.G.parameters(), lr=options.lr, betas=betas),
        }

    def training_step(self, real: Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        """One D update, then one G update; returns the scalars to log."""
        G, D, policy = ctx.net("G"), ctx.net("D"), ctx.options.augment
        # --augment: DiffAugment on real and fake alike, its randomness from ctx (resumable)
        aug = (lambda x: diff_augment(x, policy, ctx.generator)) if policy else ctx.augment
        with ctx.autocast():
            fake = torch.tanh(G(ctx.randn(len(real), self.z_dim)))
            real_logits = D(aug(real))
            d_loss = ctx.loss.d_loss(real_logits, D(aug(fake.detach())))
        if needs_gradient_penalty(ctx.loss):  # wgan-gp: the penalty is the model's to add
            penalty = gradient_penalty(D, real, fake.detach().float(), generator=ctx.generator)
            d_loss = d_loss + penalty
        ctx.step_optimizer("D", d_loss)

        # G learns through a frozen D: no weight gradients for D, and no DDP sync for them
        ctx.raw("D").requires_grad_(False)
        with ctx.autocast():
            g_logits = ctx.net("D", sync=False)(aug(fake))
            g_loss = ctx.loss.g_loss(g_logits, real_logits.detach())
        ctx.step_optimizer("G", g_loss)
        ctx.raw("D").requires_grad_(True)
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}


def build_tinygan(**options: Any) -> TinyGAN:
    return TinyGAN(TinyGANConfig(**options))
