"""Configs of the GAN networks, and the names of the GAN losses.

Torch-free on purpose: ``artkit list models`` reads these dataclasses (through
:func:`artkit.registry.params_from`) to show typed parameters without importing torch.
Every config validates itself in ``__post_init__`` and raises a one-line
:class:`~artkit.errors.UsageError` naming the field and the values it accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from artkit.config_checks import (
    GREY_HELP,
    IMAGE_CHANNELS,
    MAX_Z_DIM,
    check_resolution,
    int_in,
    number_in,
    option,
    pyramid_allowed,
    pyramid_fits,
    require,
)

GANLossName = Literal["bce", "hinge", "lsgan", "wgan-gp"]
LOSS_NAMES: tuple[str, ...] = get_args(GANLossName)
DCGAN_RESOLUTIONS = (32, 64, 128)
#: what a DCGAN / FastGAN ``resolution`` may be (square or HxW), in error messages
DCGAN_SIZES = pyramid_allowed(DCGAN_RESOLUTIONS)


def _check_common(cfg: Any, owner: str) -> None:
    ok = int_in(cfg.channels, 1, 4) and cfg.channels in IMAGE_CHANNELS
    require(ok, owner, "channels", cfg.channels, "1 (grey), 3 (RGB) or 4 (RGBA)")
    ok = int_in(cfg.z_dim, 1, MAX_Z_DIM)
    require(ok, owner, "z_dim", cfg.z_dim, f"an integer from 1 to {MAX_Z_DIM}")


#: the most classes a model may be conditioned on (each adds one latent input)
MAX_CLASSES = 4096
CLASSES_HELP = (
    "0: unconditional; K: conditioned on the data's K class labels (glyphs: each character), "
    "each sample's class drawn from its seed"
)

STYLES_HELP = (
    "0: off; S: D also learns the data's S styles (glyphs: each font) and G is paid for "
    "drawing each as often as the data has it (G is not told which to draw)"
)
STYLE_WEIGHT_HELP = "weight of G's term for drawing the styles in the data's shares (styles=S)"


def _check_fastgan_discriminator(cfg: Any, owner: str) -> None:
    """``width``, ``recon_weight`` and ``classes``: the fastgan discriminator's fields
    (shapegan has it too)."""
    ok = number_in(cfg.width, 0, 16, lo_open=True)
    require(ok, owner, "width", cfg.width, "a number > 0 and <= 16 (e.g. 0.25, 0.5, 1)")
    ok = number_in(cfg.recon_weight, 0, 1000)
    require(ok, owner, "recon_weight", cfg.recon_weight, "a number from 0 to 1000")
    ok = int_in(cfg.classes, 0, MAX_CLASSES)
    require(ok, owner, "classes", cfg.classes, f"0 (off) or an integer up to {MAX_CLASSES}")


@dataclass
class MLPGANConfig:
    """A fully connected GAN (Goodfellow et al. 2014): small images, quick to train."""

    resolution: int = option(32, "image side in pixels, 4 to 256")
    channels: int = option(1, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = option(100, "latent vector size")
    hidden: int = option(1024, "hidden layer width (the discriminator's last one is half)")

    def __post_init__(self) -> None:
        _check_common(self, "mlp-gan")
        ok = int_in(self.resolution, 4, 256)
        require(ok, "mlp-gan", "resolution", self.resolution, "an integer from 4 to 256")
        # capped as shapegan's MLP is: an unchecked width was a traceback after trying to
        # allocate it (hidden=10**9: 400 GB for the first layer)
        ok = int_in(self.hidden, 2, 8192)
        require(ok, "mlp-gan", "hidden", self.hidden, "an integer from 2 to 8192")


@dataclass
class DCGANConfig:
    """A deep convolutional GAN (Radford et al. 2015) at 32, 64 or 128 pixels."""

    resolution: str | int = option(
        64, "image side in pixels: 32, 64 or 128, or HxW like 64x128 (height x width)"
    )
    channels: int = option(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = option(128, "latent vector size")
    width: float = option(1.0, "multiplier on every channel count (0.5 halves the networks)")
    d_norm: Literal["batch", "spectral", "none"] = option(
        "spectral", "discriminator normalisation: batch, spectral or none"
    )
    grey: bool = option(False, GREY_HELP)

    def __post_init__(self) -> None:
        fits = pyramid_fits(DCGAN_RESOLUTIONS)
        self.resolution = check_resolution(self.resolution, "dcgan", fits, DCGAN_SIZES)
        _check_common(self, "dcgan")
        ok = isinstance(self.width, int | float) and not isinstance(self.width, bool)
        ok = ok and math.isfinite(self.width) and 0 < self.width <= 16
        require(ok, "dcgan", "width", self.width, "a number > 0 and <= 16 (e.g. 0.5, 1, 2)")
        ok = self.d_norm in ("batch", "spectral", "none")
        require(ok, "dcgan", "d_norm", self.d_norm, "batch, spectral or none")
        require(isinstance(self.grey, bool), "dcgan", "grey", self.grey, "true or false")


@dataclass
class FastGANConfig:
    """A lightweight GAN for few images and little compute (Liu et al. 2021, "FastGAN").

    The generator's skip-layer excitation lets low-resolution features gate high
    ones; the discriminator also learns to reconstruct real images from its 8 px
    features, a self-supervised task that keeps it from memorising a small data set.
    """

    resolution: str | int = option(
        32, "image side in pixels: 32, 64 or 128, or HxW like 32x64 (height x width)"
    )
    channels: int = option(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = option(128, "latent vector size")
    # 3/16 of the DCGAN plan (96 channels at 4 px ... 12 at 32 px): ~5+ steps/s on 2 CPU cores
    width: float = option(0.1875, "multiplier on every channel count (1: DCGAN's plan)")
    recon_weight: float = option(
        1.0, "weight of D's L1 reconstruction of real images (0 drops the decoder)"
    )
    d_width: float = option(
        1.0, "the discriminator's channel counts relative to G's (2: twice as wide, up to 4)"
    )
    palette: int = option(
        0,
        "0 paints each pixel's colour freely; K (2-64) paints each image from K colours "
        "that G picks for it: flat areas and clean edges",
    )
    classes: int = option(0, CLASSES_HELP)
    styles: int = option(0, STYLES_HELP)
    style_weight: float = option(1.0, STYLE_WEIGHT_HELP)
    mbstd: int = option(
        0,
        "0: off; G (2-64): D also sees how varied each group of G images is "
        "(minibatch standard deviation), so drawing too few kinds of picture costs G",
    )
    grey: bool = option(False, GREY_HELP)

    def __post_init__(self) -> None:
        fits = pyramid_fits(DCGAN_RESOLUTIONS)
        self.resolution = check_resolution(self.resolution, "fastgan", fits, DCGAN_SIZES)
        _check_common(self, "fastgan")
        require(isinstance(self.grey, bool), "fastgan", "grey", self.grey, "true or false")
        _check_fastgan_discriminator(self, "fastgan")
        ok = number_in(self.d_width, 0, 4, lo_open=True) and self.width * self.d_width <= 16
        require(
            ok,
            "fastgan",
            "d_width",
            self.d_width,
            "a number > 0 and <= 4 (with width x d_width at most 16)",
        )
        ok = int_in(self.palette, 0, 0) or int_in(self.palette, 2, 64)
        require(ok, "fastgan", "palette", self.palette, "0 (off) or an integer from 2 to 64")
        ok = int_in(self.styles, 0, MAX_CLASSES)
        require(ok, "fastgan", "styles", self.styles, f"0 (off) or an integer up to {MAX_CLASSES}")
        ok = number_in(self.style_weight, 0, 100)
        require(ok, "fastgan", "style_weight", self.style_weight, "a number from 0 to 100")
        ok = int_in(self.mbstd, 0, 0) or int_in(self.mbstd, 2, 64)
        require(ok, "fastgan", "mbstd", self.mbstd, "0 (off) or an integer from 2 to 64")


@dataclass
class ShapeGANConfig:
    """A GAN whose generator paints each picture with a few flat shapes (crisp edges at any step).

    An MLP places, sizes, rotates and colours up to ``shapes`` shapes -- rounded
    boxes (squares to discs, rectangles to strokes), triangles, arcs and rings,
    pies and half-discs -- over a ground colour; the discriminator is fastgan's.
    Made for flat, graphic art (``shapes``, logos, constructivist compositions),
    not photographs.
    """

    resolution: str | int = option(
        32, "image side in pixels: 32, 64 or 128, or HxW like 32x64 (height x width)"
    )
    channels: int = option(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = option(64, "latent vector size")
    shapes: int = option(8, "most shapes in one picture (each may also be left out)")
    hidden: int = option(512, "width of the generator's MLP")
    edge: float = option(0.3, "edge softness in pixels (anti-aliasing; 0.3 is about one pixel)")
    width: float = option(0.1875, "multiplier on the discriminator's channel counts")
    recon_weight: float = option(
        1.0, "weight of D's L1 reconstruction of real images (0 drops the decoder)"
    )
    classes: int = option(0, CLASSES_HELP)

    def __post_init__(self) -> None:
        fits = pyramid_fits(DCGAN_RESOLUTIONS)
        self.resolution = check_resolution(self.resolution, "shapegan", fits, DCGAN_SIZES)
        _check_common(self, "shapegan")
        require(
            int_in(self.shapes, 1, 64), "shapegan", "shapes", self.shapes, "an integer from 1 to 64"
        )
        ok = int_in(self.hidden, 8, 8192)
        require(ok, "shapegan", "hidden", self.hidden, "an integer from 8 to 8192")
        ok = number_in(self.edge, 0.05, 8)
        require(ok, "shapegan", "edge", self.edge, "a number from 0.05 to 8 (pixels)")
        _check_fastgan_discriminator(self, "shapegan")
