"""``pix2pix``: image-to-image translation with a conditional GAN (Isola et al. 2017).

The generic trainer (:mod:`artkit.train`) runs the loop, EMA of the generator,
precision, DDP, checkpoints, exact resume and the held-out evaluation; this file
says what a pair is and what one step is.

**Pairs.** ``task=paired``: each batch holds A and B stacked on the channel axis
(the ``paired`` and ``side-by-side`` datasets); each half is reduced to the
model's ``in_channels`` / ``out_channels``. ``task=colorize``: each colour batch
is split on the fly into the input, its CIE Lab lightness L (the photo in black
and white), and the target. With ``space=lab`` (the default) the generator
predicts only the a*b* chroma channels and the result is put back together with
the input's own L: the brightness of a colourised photo is exactly the
original's, the network spends all its capacity on colour, and the L1 term
measures colour alone -- this colourises better than predicting RGB, which is
``space=rgb``.

**One step.** ``d_steps`` discriminator updates on (A, B) against (A, G(A))
pairs -- the PatchGAN judges each 70x70 patch of a pair, so it is conditioned on
the input -- with any registered GAN loss (``--loss bce|hinge|lsgan|wgan-gp``;
WGAN-GP's penalty and ``--r1`` work as in the GAN family, ``--augment`` applies
DiffAugment to both members of a pair at once). Then one generator update:
``loss = adversarial + l1_weight * |G(A) - B|``. Dropout in the generator is
pix2pix's noise while training.

**Inference** (:meth:`Pix2Pix.translate`) uses the generator's EMA copy in eval
mode with dropout off, so the same input gives the same pixels; any image size
works (padded to the network's multiple and cropped back) and large images can
go through in overlapping, feathered tiles (:mod:`artkit_translate.torch_tiles`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.config_checks import image_size, size_text
from artkit.errors import UsageError
from artkit.model import ArtModel, StepContext
from artkit.nn.adversarial import (
    adversarial_optimizers,
    check_penalties,
    d_logits,
    require_gan_loss,
)
from artkit.nn.diffaugment import diff_augment
from artkit.nn.gan_losses import BCELoss
from artkit.nn.patchgan import PatchDiscriminator
from artkit.nn.penalties import gradient_penalty, r1_penalty
from artkit.nn.unet import UNetGenerator
from artkit_translate.configs import Pix2PixConfig
from artkit_translate.nn_colour import (
    AB_SCALE,
    delta_e,
    fit_channels,
    greyscale,
    images_to_lab,
    lab_to_images,
)
from artkit_translate.torch_tiles import run_tiled

#: default tile side and overlap for :meth:`Pix2Pix.translate` with ``tile=True``
DEFAULT_TILE, DEFAULT_OVERLAP = 512, 64


@contextlib.contextmanager
def _inference(net: nn.Module, *, noise: bool) -> Iterator[None]:
    """Eval mode (running BatchNorm statistics); dropout back on only when ``noise``."""
    before = [(m, m.training) for m in net.modules()]
    try:
        net.eval()
        if noise:
            for m in net.modules():
                if isinstance(m, nn.Dropout):
                    m.train()
        yield
    finally:
        for m, mode in before:
            m.training = mode


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x`` to multiples of ``multiple`` by mirroring the image.

    Mirroring (reflection) keeps the padded border looking like the picture, so the
    network's output near the real edge is not pulled towards a flat colour;
    sides too small to mirror are extended by repeating their edge. Returns the
    padded tensor and the original ``(height, width)`` to crop back to.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class Pix2Pix(ArtModel):
    """Networks ``G`` (U-Net), ``D`` (PatchGAN) and ``G_ema``; capability ``translate``."""

    network_names = ("G", "D", "G_ema")
    # no --mode-seeking: pix2pix draws no latents whose pictures it could pay to differ
    adversarial_options: ClassVar[frozenset[str] | None] = frozenset(
        {"lr_d", "d_steps", "r1", "augment"}
    )
    ema_pairs: ClassVar[dict[str, str]] = {"G": "G_ema"}
    trained_networks: ClassVar[tuple[str, ...]] = ("G", "D")
    #: the trainer keeps this share of the data aside and logs ``val_*`` from :meth:`evaluate`
    holdout_fraction: ClassVar[float] = 0.05
    #: the method of a loss object the step calls: any registered GAN loss fits
    loss_method: ClassVar[str] = "d_loss"
    # The paper used bce; least squares measured better here: a tiny colouriser on
    # emoji, 600 steps, reached held-out delta E 13.2 with lsgan vs 14.8 with bce.
    default_loss: ClassVar[str] = "lsgan"
    default_lr: ClassVar[float] = 2e-4

    def __init__(self, config: Pix2PixConfig, *, registry_name: str = "pix2pix"):
        super().__init__(config, registry_name=registry_name)
        c = config
        self.G = UNetGenerator(
            c.input_channels,
            c.output_channels,
            width=c.width,
            depth=c.levels,
            norm=c.norm,
            dropout=c.dropout,
        )
        self.D = PatchDiscriminator(
            c.input_channels + c.output_channels, width=c.d_width, layers=c.d_layers, norm=c.norm
        )
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False).eval()

    # -- pairs ------------------------------------------------------------------------
    def split_batch(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """A training batch -> (generator input, generator target), both in model units."""
        c = self.config
        if c.task == "colorize":
            # the model's own size: side-by-side pairs (twice as wide) are not colour images
            if batch.shape[1] != 3 or tuple(batch.shape[-2:]) != image_size(c.resolution):
                raise UsageError(
                    f"pix2pix:task=colorize trains on {size_text(c.resolution)} px colour "
                    f"images, got batches shaped "
                    f"{tuple(batch.shape[1:])}; paired and side-by-side data need task=paired"
                )
            lab = images_to_lab(batch)
            source = lab[:, :1] / 50 - 1
            target = (lab[:, 1:] / AB_SCALE).clamp(-1, 1) if c.space == "lab" else batch
            return source, target.to(batch.dtype)
        half = c.pair_channels
        if batch.shape[1] != 2 * half:
            raise UsageError(
                f"pix2pix:task=paired needs A and B stacked ({2 * half} channels), got "
                f"{batch.shape[1]}; train on paired:a=DIR,b=DIR or side-by-side:path=DIR"
            )
        return (
            fit_channels(batch[:, :half], c.in_channels),
            fit_channels(batch[:, half:], c.out_channels),
        )

    def to_images(self, source: Tensor, output: Tensor) -> Tensor:
        """Generator input and output -> images in [-1, 1] (colour put back onto L for lab)."""
        if self.config.task == "colorize" and self.config.space == "lab":
            lab = torch.cat([(source.float() + 1) * 50, output.float() * AB_SCALE], dim=1)
            return lab_to_images(lab)
        return output.float().clamp(-1, 1)

    def source_from_images(self, images: Tensor) -> Tensor:
        """Images to translate (any of 1, 3, 4 channels) -> the generator's input."""
        c = self.config
        if c.task == "colorize":
            return images_to_lab(fit_channels(images, 3))[:, :1] / 50 - 1
        return fit_channels(images, c.in_channels)

    # -- inference --------------------------------------------------------------------
    def _window(self, G: nn.Module, images: Tensor) -> Tensor:
        source = self.source_from_images(images)
        padded, (h, w) = pad_to_multiple(source, self.config.levels_multiple)
        output = G(padded)[..., :h, :w]
        return self.to_images(source, output)

    @torch.no_grad()
    def translate(
        self,
        images: Tensor,
        *,
        tile: int | bool | None = None,
        overlap: int = DEFAULT_OVERLAP,
        noise_seed: int | None = None,
    ) -> Tensor:
        """Images ``(N, C, H, W)`` in [-1, 1], any size -> translated images, same size, float32.

        ``C`` may be 1, 3 or 4 whatever the model reads (grey, colour and RGBA are
        converted as Pillow would; a colourisation model reads the lightness).
        ``tile`` (pixels, or True for :data:`DEFAULT_TILE`) translates in overlapping
        windows blended with feathered weights. Dropout is off -- the same input
        gives the same output -- unless ``noise_seed`` is given: then the dropout
        masks are drawn from that seed (varied, still reproducible results).
        """
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4 or images.shape[1] not in (1, 3, 4):
            raise UsageError(
                f"pix2pix translates (N, C, H, W) images with 1, 3 or 4 channels, got {tuple(images.shape)}"
            )
        x = images.to(self.device, torch.float32)
        G = self.inference_network("G")
        size = DEFAULT_TILE if tile is True else int(tile or 0)
        rng = (
            torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else [])
            if noise_seed is not None
            else contextlib.nullcontext()
        )
        with _inference(G, noise=noise_seed is not None), rng:
            if noise_seed is not None:
                torch.manual_seed(int(noise_seed))
            if not size or max(x.shape[-2:]) <= size:
                return self._window(G, x).contiguous()
            multiple = self.config.levels_multiple
            return torch.cat(
                [
                    run_tiled(
                        lambda t: self._window(G, t),
                        image[None],
                        tile=size,
                        overlap=min(overlap, size // 2),
                        multiple=multiple,
                    )
                    for image in x
                ]
            ).contiguous()

    # -- training ---------------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        return adversarial_optimizers(options, self.G, self.D)

    def training_step(self, batch: Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        opts = ctx.options
        loss_fn = require_gan_loss(ctx.loss if ctx.loss is not None else BCELoss(), "pix2pix")
        needs_gp = check_penalties(ctx, loss_fn)
        policy = opts.augment

        def aug(pair: Tensor) -> Tensor:
            return diff_augment(pair, policy, generator=ctx.generator) if policy else pair

        source, target = self.split_batch(batch)
        if ctx.channels_last:
            source = source.contiguous(memory_format=torch.channels_last)
            target = target.contiguous(memory_format=torch.channels_last)
        G, D = ctx.net("G"), ctx.net("D")

        ctx.raw("D").requires_grad_(True)
        for _ in range(opts.d_steps):
            real = torch.cat([source, target], 1).detach().requires_grad_(opts.r1 > 0)
            with ctx.autocast():
                with torch.no_grad():
                    fake = torch.cat([source, G(source).to(source.dtype)], 1)
                real_logits, fake_logits = d_logits(
                    D, aug(real), aug(fake), separate=self.config.norm == "batch"
                )
                d_loss = loss_fn.d_loss(real_logits, fake_logits)
            if needs_gp:
                d_loss = d_loss + gradient_penalty(
                    lambda x: D(aug(x)), real, fake.float(), generator=ctx.generator
                )
            if opts.r1 > 0:
                d_loss = d_loss + r1_penalty(real_logits, real, opts.r1)
            ctx.step_optimizer("D", d_loss)

        # G's step needs gradients through D but not for D's weights (and not through DDP).
        ctx.raw("D").requires_grad_(False)
        D_local = ctx.net("D", sync=False)
        with ctx.autocast():
            output = G(source)
            g_logits = D_local(aug(torch.cat([source, output.to(source.dtype)], 1)))
            adversarial = loss_fn.g_loss(g_logits, real_logits.detach())
            l1 = (output.float() - target.float()).abs().mean()
            g_loss = adversarial + self.config.l1_weight * l1
        ctx.step_optimizer("G", g_loss)
        ctx.raw("D").requires_grad_(True)
        return {
            "d_loss": d_loss.item(),
            "d_real": real_logits.detach().float().mean().item(),
            "d_fake": fake_logits.detach().float().mean().item(),
            "g_adv": adversarial.item(),
            "g_l1": l1.item(),
        }

    @torch.no_grad()
    def evaluate(self, batch: Tensor) -> dict[str, float]:
        """Held-out metrics (the trainer logs them as ``val_*``), through ``G_ema`` in eval mode.

        - ``l1``: mean absolute error of the generator's output in model units;
        - colourisation: ``colour_error``, the mean CIE76 colour difference (delta E,
          1 ~ just noticeable) between the colourised and the original photo, and
          ``grey_colour_error``, the same for the black-and-white input: the model
          has learnt something when the first is below the second.
        """
        source, target = self.split_batch(batch)
        G = self.inference_network("G")
        with _inference(G, noise=False):
            output = G(source)
        metrics = {"l1": (output.float() - target.float()).abs().mean().item()}
        if self.config.task == "colorize":
            images = self.to_images(source, output)
            metrics["colour_error"] = delta_e(images, batch).mean().item()
            metrics["grey_colour_error"] = delta_e(greyscale(batch), batch).mean().item()
        return metrics


def build_pix2pix(**options: Any) -> Pix2Pix:
    return Pix2Pix(Pix2PixConfig(**options), registry_name="pix2pix")
