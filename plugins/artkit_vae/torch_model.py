"""The VAE model family: an encoder ``E`` and a decoder ``G`` trained as one.

``vae`` and ``beta-vae`` share this class; they differ only in the default KL
weight. The generic trainer (:mod:`artkit.train`) runs the loop, precision,
checkpoints and the held-out evaluation; what every VAE shares (the posterior,
the KL term, encode/decode in eval mode, the optimiser) is
:class:`artkit.nn.vae.GaussianVAE`; this file says what one step is:

1. encode a batch to the posterior ``q(z|x) = N(mean, exp(logvar))``;
2. draw ``z = mean + eps * std`` with the trainer's noise generator (so exact
   resume replays the same ``eps``) and decode it;
3. loss = reconstruction (any registered loss with a ``reconstruction`` method,
   per image summed over pixels) + ``beta`` * KL(q || N(0, I)), with ``beta``
   warmed up linearly over ``kl_warmup`` steps and, with ``free_bits``, the KL of
   each latent dimension (batch mean) floored at that many nats;
4. one Adam step on both networks.

The decoder is called ``G`` because decoding is generation: ``sample``,
``latents_for_seeds`` and ``generate`` behave exactly like the GAN's, so
``artkit sample`` and ``artkit interpolate`` work on VAE checkpoints unchanged.
With ``prior=gmm`` (the default) the latents come from a Gaussian mixture fitted
to the training set's posterior means once training ends (:mod:`artkit_vae.nn_prior`),
not from N(0, I), whose draws often decode to blurry blobs; the mixture lives in
buffers (``prior_*``) that the checkpoint saves, and a model whose mixture was
never fitted (``prior_fitted`` = 0) samples from N(0, I).
Inference always runs the networks in eval mode (BatchNorm running statistics),
so an image's latent and a latent's image never depend on the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from artkit.config_checks import image_size
from artkit.errors import UsageError
from artkit.model import StepContext
from artkit.nn.modes import eval_mode
from artkit.nn.vae import GaussianVAE, kl_per_dim
from artkit_vae.configs import BetaVAEConfig, VAEConfig
from artkit_vae.nn_losses import MSELoss
from artkit_vae.nn_networks import VAEDecoder, VAEEncoder
from artkit_vae.nn_prior import fit_gmm, sample_gmm

#: how many training images the prior is fitted to (their posterior means)
PRIOR_FIT_IMAGES = 10_000


class VAE(GaussianVAE):
    default_reconstruction_loss: ClassVar[str] = "mse"
    default_loss: ClassVar[str] = "mse"
    #: checkpoints from before the learned prior lack these: they sample from N(0, I)
    optional_state: ClassVar[tuple[str, ...]] = ("prior_",)

    def __init__(self, config: Any, E: nn.Module, G: nn.Module, *, registry_name: str):
        super().__init__(config, registry_name=registry_name)
        self.E, self.G = E, G
        # The loss the last training step used, so held-out metrics are in its units.
        self._recon_loss: Any = None
        # The latent prior's mixture, always present (strict checkpoint loading wants
        # the same tensors in every checkpoint of a config): K = 0 for prior=normal.
        k = config.prior_components if config.prior == "gmm" else 0
        d = config.z_dim
        self.register_buffer("prior_fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("prior_weights", torch.zeros(k))
        self.register_buffer("prior_means", torch.zeros(k, d))
        # identity factors, built without an eye(d) that prior=normal would not need
        self.register_buffer("prior_chol", torch.zeros(k, d, d))
        self.prior_chol.diagonal(dim1=1, dim2=2).fill_(1.0)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.channels, *image_size(c.resolution))

    # -- inference (latents_for_seeds and sample come from LatentModel) ------------
    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        """``n`` latents from the fitted mixture (N(0, I) without one), ``truncation`` the temperature."""
        if not bool(self.prior_fitted):
            return super().latents(n, generator, truncation)
        return sample_gmm(
            self.prior_weights, self.prior_means, self.prior_chol, n, generator, truncation
        )

    @torch.no_grad()
    def fit_prior(
        self, images: Iterable[torch.Tensor], seed: int = 0, limit: int = PRIOR_FIT_IMAGES
    ) -> dict[str, float] | None:
        """Fit the mixture prior to the posterior means of up to ``limit`` of ``images`` (batches).

        Fewer images than components fit fewer components; the rest keep weight 0.
        With ``prior_copy_test`` the size is the largest that passes the data-copying
        test (:mod:`artkit_vae.nn_prior_size`); returns what it chose and the test's C_T.
        """
        if self.config.prior != "gmm":
            return None
        embed = None
        if self.config.prior_copy_test:
            from artkit.eval.random_conv import build_random_conv

            extractor = build_random_conv(device=self.device)
            embed = lambda x: extractor.embed(x.to(self.device)).cpu()  # noqa: E731
        codes, features, count = [], [], 0
        for batch in images:
            batch = batch[: limit - count]
            codes.append(self.encode(batch)[0].cpu())
            if embed is not None:
                features.append(embed(batch))
            count += len(codes[-1])
            if count >= limit:
                break
        z = torch.cat(codes)
        most = min(len(self.prior_weights), len(z))
        if embed is None:
            size, report = most, None
        else:
            from artkit_vae.nn_prior_size import size_by_copying

            size, score = size_by_copying(
                z, torch.cat(features), most, self.decode, embed, seed=seed
            )
            report = {"prior_components": size}
            if score is not None:
                report["prior_copying_z"] = round(score, 3)
        weights, means, chol = fit_gmm(z, size, seed)
        k = len(weights)
        self.prior_weights.zero_()[:k] = weights
        self.prior_means.zero_()[:k] = means
        self.prior_chol[:k] = chol
        self.prior_fitted.fill_(True)
        return report

    def after_training(
        self, images: Iterator[torch.Tensor], ctx: StepContext
    ) -> dict[str, float] | None:
        """Fit the latent prior to the trained encoder's codes (``prior=gmm``)."""
        return self.fit_prior(images, seed=ctx.options.seed)

    def _loss_fn(self, loss: Any) -> Any:
        if loss is None:
            return MSELoss()
        if not callable(getattr(loss, "reconstruction", None)):
            raise UsageError(
                f"loss {getattr(loss, 'name', '') or type(loss).__name__!r} has no reconstruction "
                "method; a VAE trains with a reconstruction loss such as mse, l1 or bce"
            )
        return loss

    def training_step(self, x: torch.Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        loss_fn = self._loss_fn(ctx.loss)
        self._recon_loss = loss_fn
        if ctx.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        mean, logvar, z = self.posterior_sample(x, ctx)
        with ctx.autocast():
            x_hat = ctx.net("G")(z)
        recon = loss_fn.reconstruction(x_hat, x).float().mean()
        kl, kl_term, beta = self.kl_loss(mean, logvar, step)
        total = recon + kl_term
        ctx.step_optimizer("vae", total)
        return {"loss": total.item(), "recon": recon.item(), "kl": kl.item(), "beta": beta}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict[str, float]:
        """Held-out metrics, deterministic (no noise drawn): the trainer logs them as ``val_*``.

        ``recon_mse``: per-pixel squared error of the reconstruction from the
        posterior mean; ``kl``: KL(q || prior) per image in nats; ``elbo``:
        ``-(recon + kl)`` per image, with ``recon`` the training loss (per image,
        summed over pixels) of that same mean reconstruction.
        """
        with eval_mode(self.E, self.G):
            mean, logvar = self.E(x.to(self.device))
            x_hat = self.G(mean).float()
        x = x.to(self.device, torch.float32)
        recon = self._loss_fn(self._recon_loss).reconstruction(x_hat, x).float().mean()
        kl = kl_per_dim(mean, logvar).sum(1).mean()
        return {
            "recon_mse": (x_hat - x).square().mean().item(),
            "kl": kl.item(),
            "elbo": -(recon + kl).item(),
        }


def build_vae(**options: Any) -> VAE:
    cfg = VAEConfig(**options)
    return VAE(cfg, VAEEncoder(cfg), VAEDecoder(cfg), registry_name="vae")


def build_beta_vae(**options: Any) -> VAE:
    cfg = BetaVAEConfig(**options)
    return VAE(cfg, VAEEncoder(cfg), VAEDecoder(cfg), registry_name="beta-vae")
