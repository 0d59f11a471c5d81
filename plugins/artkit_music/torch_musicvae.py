"""The MusicVAE-style model: an encoder ``E`` and a hierarchical decoder ``G`` trained as one.

The generic trainer (:mod:`artkit.train`) runs the loop, precision, checkpoints
and the held-out evaluation; what every VAE shares (the posterior, the KL term,
encode/decode in eval mode, the optimiser) is :class:`artkit.nn.vae.GaussianVAE`;
this file says what one step is:

1. encode a batch of rolls to the posterior ``q(z|x) = N(mean, exp(logvar))``;
2. draw ``z = mean + eps * std`` with the trainer's noise generator (so exact
   resume replays the same ``eps``) and decode it to Bernoulli logits;
3. loss = binary cross-entropy of every (track, step, pitch) cell, summed per
   roll, + ``beta`` * KL(q || N(0, I)), with ``beta`` warmed up linearly over
   ``kl_warmup`` steps and each latent dimension's KL (batch mean) floored at
   ``free_bits`` nats (no pressure below it, so the code stays informative);
4. one Adam step on both networks.

``encode``/``decode`` are the VAE family's (so ``artkit encode``, ``decode``,
``reconstruct``, ``interpolate`` and ``morph`` work); ``generate`` is ``decode``:
``2 * sigmoid(logits) - 1``, a note where the probability is above one half.
``sample`` draws from a Gaussian fitted to the training rolls' codes once
training ends (buffers ``prior_*`` in the checkpoint), N(0, I) before that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from artkit.errors import UsageError
from artkit.model import StepContext
from artkit.nn.modes import eval_mode
from artkit.nn.vae import GaussianVAE, kl_per_dim

from .model_configs import MusicVAEConfig
from .nn_musicvae import MusicVAEDecoder, MusicVAEEncoder

#: how many training rolls the prior is fitted to (their posterior means)
PRIOR_FIT_ROLLS = 10_000


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-roll binary cross-entropy (nats), summed over tracks, steps and pitches: ``(N,)``."""
    target = (x.float() > 0).float()
    nll = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return nll.flatten(1).sum(1)


class MusicVAE(GaussianVAE):
    default_loss: ClassVar[str] = ""
    output_kind: ClassVar[str] = "midi"
    #: --eval-every scores piano rolls with piano-roll features, not picture features
    eval_features: ClassVar[str] = "pianoroll"

    def __init__(self, config: MusicVAEConfig, *, registry_name: str = "musicvae"):
        super().__init__(config, registry_name=registry_name)
        self.E, self.G = MusicVAEEncoder(config), MusicVAEDecoder(config)
        # The latent prior: N(0, I) until training ends, then one full-covariance
        # Gaussian fitted to the training rolls' codes (saved with the checkpoint).
        d = config.z_dim
        self.register_buffer("prior_fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("prior_mean", torch.zeros(d))
        self.register_buffer("prior_chol", torch.eye(d))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.tracks, c.time_steps, c.pitches)

    # -- inference (latents_for_seeds and sample come from LatentModel) --------------
    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        """``n`` latents from the fitted Gaussian (N(0, I) before one is fitted); ``truncation``
        scales the draw around the mean (a temperature)."""
        eps = super().latents(n, generator, truncation)
        if not bool(self.prior_fitted):
            return eps
        return self.prior_mean.cpu() + eps @ self.prior_chol.cpu().T

    @torch.no_grad()
    def fit_prior(self, images: Iterable[torch.Tensor], limit: int = PRIOR_FIT_ROLLS) -> None:
        """Fit the prior to the posterior means of up to ``limit`` rolls of ``images`` (batches).

        A KL-annealed VAE's codes do not fill N(0, I), whose draws then decode to
        silence or noise; drawing from the codes' own Gaussian gives rolls like the data.
        """
        codes, count = [], 0
        for batch in images:
            codes.append(self.encode(batch[: limit - count])[0].cpu().double())
            count += len(codes[-1])
            if count >= limit:
                break
        if count < 2:
            return
        z = torch.cat(codes)
        mean = z.mean(0)
        cov = torch.cov(z.T).reshape(len(mean), len(mean))
        cov = cov + 1e-4 * torch.eye(len(mean), dtype=cov.dtype)
        chol, info = torch.linalg.cholesky_ex(cov)
        if int(info) != 0 or not torch.isfinite(chol).all():
            return
        self.prior_mean.copy_(mean.float())
        self.prior_chol.copy_(chol.float())
        self.prior_fitted.fill_(True)

    def after_training(self, images: Iterator[torch.Tensor], ctx: StepContext) -> None:
        """Fit the latent prior to the trained encoder's codes of the training rolls."""
        self.fit_prior(images)

    # -- training -----------------------------------------------------------------
    def training_step(self, x: torch.Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        if ctx.loss is not None:
            raise UsageError(
                "musicvae trains with its own Bernoulli (binary cross-entropy) loss; drop --loss"
            )
        mean, logvar, z = self.posterior_sample(x, ctx)
        with ctx.autocast():
            logits = ctx.net("G")(z, logits=True)
        recon = bernoulli_nll(logits, x).mean()
        kl, kl_term, beta = self.kl_loss(mean, logvar, step)
        total = recon + kl_term
        ctx.step_optimizer("vae", total)
        with torch.no_grad():
            density = (logits.detach() > 0).float().mean().item()
        return {
            "loss": total.item(),
            "recon": recon.item(),
            "kl": kl.item(),
            "beta": beta,
            "recon_density": density,
        }

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict[str, float]:
        """Held-out metrics from the posterior mean (no noise): ``recon`` (nats per roll),
        ``kl`` (nats per roll), ``elbo`` = -(recon + kl), and ``note_f1`` of the decoded notes."""
        with eval_mode(self.E, self.G):
            mean, logvar = self.E(x.to(self.device, torch.float32))
            logits = self.G(mean, logits=True).float()
        recon = bernoulli_nll(logits, x.to(self.device)).mean()
        kl = kl_per_dim(mean, logvar).sum(1).mean()
        pred, real = logits > 0, x.to(self.device) > 0
        hits = (pred & real).sum().item()
        f1 = 2 * hits / max(1, pred.sum().item() + real.sum().item())
        return {
            "recon": recon.item(),
            "kl": kl.item(),
            "elbo": -(recon + kl).item(),
            "note_f1": f1,
        }


def build_musicvae(**options: Any) -> MusicVAE:
    return MusicVAE(MusicVAEConfig(**options))
