"""MuseGAN as an artkit model: networks G, D and G_ema plus one adversarial training step.

The generic trainer (:mod:`artkit.train`) runs the loop, EMA, precision and
checkpoints; this file says what one step is:

1. transpose every real phrase by its own random shift of -6..+5 semitones
   (drawn with the trainer's generator, so exact resume replays it): the
   discriminator sees every key, and the generator learns them all;
2. ``d_steps`` discriminator updates on real vs generated phrases (hinge loss by
   default; any registered GAN loss, ``--r1`` and WGAN-GP's penalty work);
3. one generator update through the frozen discriminator, plus MSGAN's
   mode-seeking term (``mode_seeking``, :func:`mode_seeking_ratio`).

Why the mode-seeking term, mono voices and held notes. On the chorales, the
4,400 steps that 10 CPU minutes buy left the plain model giving every latent
nearly the same phrase (mean pairwise distance of 500 samples 0.19; the data's
0.95), in sixteenth-note fragments (8-10 notes a bar and track; the data's 3.7).
A GPU sweep of 32 variants at that step count found that PacGAN packs, R1, LSGAN
and two-time-scale rates do not lift the diversity; the mode-seeking term does
(0.69 at weight 0.05, 0.87 at 0.2) but from about 0.05 it costs harmony between
the tracks (tonal distance); one note a track (``voices="mono"``) held for two or
four steps cuts the fragments and the Frechet distance. Then 10-minute CPU runs:
two-step notes at weight 0.03 still wrote too many pitch classes a bar, four-step
notes at 0.03 too little harmony, four-step notes at 0.02 were closer to the data
than the shuffled baseline on every measure that baseline does not match by
construction (FD 7.1, diversity 0.80). So ``mode_seeking`` defaults to 0.02 and
the ``chorales`` dataset asks for ``voices="mono", note_steps=4``
(``model_defaults``, which a user's own options override).

The discriminator sees generated phrases binarised (a note where G's output is
> 0) with a straight-through gradient (:func:`binarize`), as real phrases are
binary: without it, it learns to tell "-0.6" from "-1" and the generator falls
silent.

Sampling uses G_ema, the exponential moving average of G kept by the trainer,
in eval mode (BatchNorm running statistics), so a seed's phrase never depends on
the rest of the batch. Output rolls are ``(N, tracks, T, P)`` in [-1, 1]; the
``midi`` medium writes a note wherever a value is > 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from artkit.errors import UsageError
from artkit.model import LatentModel, StepContext
from artkit.nn.adversarial import adversarial_optimizers, check_penalties
from artkit.nn.modes import eval_mode
from artkit.nn.penalties import gradient_penalty, r1_penalty

from .model_configs import MuseGANConfig
from .nn_musegan import MuseGANDiscriminator, MuseGANGenerator, latent_size

#: transposition range in semitones (inclusive): "all keys" from any one
SHIFT_LOW, SHIFT_HIGH = -6, 5


def transpose(rolls: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move each roll ``(tracks, T, P)`` up by ``shifts[i]`` pitch rows; rows moved in are silent (-1).

    Nothing wraps around: notes pushed past the top or bottom row are dropped.
    """
    n, _, _, p = rolls.shape
    pad = int(shifts.abs().max().item()) if n else 0
    if pad == 0:
        return rolls
    padded = nn.functional.pad(rolls, (pad, pad), value=-1.0)
    # output row j of item i reads padded row pad + j - shift_i
    rows = torch.arange(p, device=rolls.device).unsqueeze(0) + pad - shifts.unsqueeze(1)
    index = rows.reshape(n, 1, 1, p).expand(-1, rolls.shape[1], rolls.shape[2], -1)
    return torch.gather(padded, 3, index)


def binarize(rolls: torch.Tensor) -> torch.Tensor:
    """Rolls as notes (+1) and silence (-1) forward, the identity backward (straight-through).

    The discriminator then sees generated rolls exactly as it sees real ones: it cannot
    tell them apart by "how far from -1" a silent cell is, a shortcut that otherwise
    drives the generator to total silence (BinaryMuseGAN, Dong & Yang 2018).
    """
    hard = torch.where(rolls > 0, 1.0, -1.0).to(rolls.dtype)
    return rolls + (hard - rolls).detach()


class MuseGAN(LatentModel):
    network_names = ("G", "D", "G_ema")
    # mode seeking is a model option here (musegan:mode_seeking=W), and --augment is
    # refused by configure_optimizers with the reason
    adversarial_options: ClassVar[frozenset[str] | None] = frozenset(
        {"lr_d", "d_steps", "r1", "augment"}
    )
    ema_pairs: ClassVar[dict[str, str]] = {"G": "G_ema"}
    default_loss: ClassVar[str] = "hinge"
    loss_method: ClassVar[str] = "d_loss"
    output_kind: ClassVar[str] = "midi"
    #: --eval-every scores piano rolls with piano-roll features, not picture features
    eval_features: ClassVar[str] = "pianoroll"

    def __init__(self, config: MuseGANConfig, *, registry_name: str = "musegan"):
        super().__init__(config, registry_name=registry_name)
        self.G, self.D, self.G_ema = (
            MuseGANGenerator(config),
            MuseGANDiscriminator(config),
            MuseGANGenerator(config),
        )
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False).eval()

    @property
    def z_dim(self) -> int:
        """The whole latent: ``config.z_dim`` times (2 + 2 * tracks) parts."""
        return latent_size(self.config)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.config
        return (c.tracks, c.time_steps, c.pitches)

    # -- inference (latents, latents_for_seeds and sample come from LatentModel) ------
    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> rolls ``(N, tracks, T, P)`` in [-1, 1], through G_ema in eval mode, float32."""
        with eval_mode(self.G_ema):
            return self.G_ema(z.to(self.device, torch.float32)).float()

    # -- training -----------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        pack = self.config.pack
        if options.batch_size % pack:  # checked here: before the run folder is made
            raise UsageError(
                f"musegan: pack={pack} judges phrases in groups of {pack}; "
                f"use a --batch-size that is a multiple of {pack}"
            )
        if options.augment:
            raise UsageError(
                "musegan: --augment (DiffAugment) is for images; musegan transposes phrases itself"
            )
        return adversarial_optimizers(options, self.G, self.D)

    def training_step(self, real: torch.Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        opts, loss_fn = ctx.options, ctx.loss
        if loss_fn is None or not callable(getattr(loss_fn, "g_loss", None)):
            raise UsageError("musegan trains with a GAN loss: bce, hinge, lsgan or wgan-gp")
        needs_gp = check_penalties(ctx, loss_fn)
        n = real.shape[0]
        shifts = torch.randint(
            SHIFT_LOW, SHIFT_HIGH + 1, (n,), generator=ctx.generator, device=ctx.device
        )
        real = transpose(real.float(), shifts)
        if ctx.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        G, D = ctx.net("G"), ctx.net("D")

        ctx.raw("D").requires_grad_(True)
        out: dict[str, float] = {}
        for _ in range(opts.d_steps):
            z = ctx.randn(n, self.z_dim)
            real_in = real.detach().requires_grad_(opts.r1 > 0)
            with ctx.autocast():
                with torch.no_grad():
                    fake = binarize(G(z))
                # one call on [real; fake]: n / pack logits each (packs never mix the two)
                real_logits, fake_logits = D(torch.cat([real_in, fake])).chunk(2)
                d_loss = loss_fn.d_loss(real_logits, fake_logits)
            if needs_gp:
                d_loss = d_loss + gradient_penalty(D, real, fake.float(), generator=ctx.generator)
            if opts.r1 > 0:
                d_loss = d_loss + r1_penalty(real_logits, real_in, opts.r1)
            ctx.step_optimizer("D", d_loss)
        out["d_loss"] = d_loss.item()
        out["d_real"] = real_logits.detach().float().mean().item()
        out["d_fake"] = fake_logits.detach().float().mean().item()

        # G's step: gradients through D, none for D's weights (frozen, called outside DDP)
        ctx.raw("D").requires_grad_(False)
        D_local = ctx.net("D", sync=False)
        z = ctx.randn(n, self.z_dim)
        with ctx.autocast():
            raw = G(z)
            fake = binarize(raw)
            g_loss = loss_fn.g_loss(D_local(fake), real_logits.detach())
        if self.config.mode_seeking > 0 and n >= 2:
            diversity = mode_seeking_ratio(raw.float(), z)
            g_loss = g_loss + self.config.mode_seeking / (diversity + 1e-5)
            out["ms_ratio"] = diversity.item()
        ctx.step_optimizer("G", g_loss)
        ctx.raw("D").requires_grad_(True)
        out["g_loss"] = g_loss.item()
        # how much of the generated phrase sounds, against the data: a collapse shows here
        out["fake_density"] = (fake.detach() > 0).float().mean().item()
        out["real_density"] = (real > 0).float().mean().item()
        return out


def mode_seeking_ratio(rolls: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """How far apart two halves of a batch of phrases are, per unit of latent distance.

    MSGAN's ratio (Mao et al. 2019): mean |G(z1) - G(z2)| / mean |z1 - z2| over
    pairs of the batch's first and second halves. Adding ``weight / ratio`` to G's
    loss penalises a generator that maps different latents to the same phrase, the
    collapse a GAN on a small corpus falls into.
    """
    h = rolls.shape[0] // 2
    apart = (rolls[:h] - rolls[h : 2 * h]).abs().flatten(1).mean(1)
    latent = (z[:h] - z[h : 2 * h]).abs().flatten(1).mean(1)
    return (apart / latent).mean()


def build_musegan(**options: Any) -> MuseGAN:
    return MuseGAN(MuseGANConfig(**options))
