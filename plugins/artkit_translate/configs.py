"""Config of the ``pix2pix`` translation model (its fields become typed CLI params).

Torch-free on purpose: ``artkit list models`` reads this dataclass (through
:func:`artkit.registry.params_from`) without importing torch. It validates itself
in ``__post_init__`` with one-line :class:`~artkit.errors.UsageError` messages
naming the field and the values it accepts.

Two tasks share the model:

- ``colorize``: the data is any colour dataset (``--data folder:path=photos/``);
  each batch is split on the fly into the input (the L channel of CIE Lab, i.e.
  the photo in black and white) and the target (its colour);
- ``paired``: the data holds A and B stacked on the channel axis (the ``paired``
  and ``side-by-side`` datasets do that); the model learns A -> B.

The trainer builds the dataset at ``channels`` (a derived property, not a
parameter): 3 for ``colorize``, and for ``paired`` twice the richer side's count
(2, 6 or 8: both halves are decoded in the same mode and the model reduces a
side to its own channel count -- luma for grey, alpha composited on white).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from artkit.config_checks import (
    IMAGE_CHANNELS,
    check_resolution,
    image_size,
    int_in,
    number_in,
    option,
    require,
)
from artkit.errors import UsageError

MIN_RESOLUTION, MAX_RESOLUTION = 32, 512
MAX_DEPTH = 9
TASKS = ("colorize", "paired")
SPACES = ("lab", "rgb")
NORMS = ("batch", "instance")
OWNER = "pix2pix"


def _require(ok: bool, name: str, value: Any, allowed: str) -> None:
    """:func:`artkit.config_checks.require` for this model's one owner name."""
    require(ok, OWNER, name, value, allowed)


def auto_depth(resolution: Any) -> int:
    """U-Net levels for a training resolution: the bottleneck is 4x4 (32 px: 3 ... 256 px: 6).

    Each level halves the image, so the network works on any size that is a
    multiple of ``2 ** depth`` (others are padded and cropped back). A non-square
    ``"HxW"`` counts its shorter side, and both sides must divide.
    """
    h, w = image_size(resolution)
    depth = max(1, int(math.log2(min(h, w))) - 2)
    while depth > 1 and (h % (2**depth) or w % (2**depth)):
        depth -= 1
    return depth


@dataclass
class Pix2PixConfig:
    """pix2pix (Isola et al. 2017): a U-Net generator and a PatchGAN critic of (input, output) pairs."""

    task: Literal["colorize", "paired"] = option(
        "colorize",
        "colorize: learn colour from any colour dataset (pairs made on the fly); "
        "paired: learn A -> B from a paired or side-by-side dataset",
    )
    resolution: str | int = option(
        128,
        "training image side in pixels, 32 to 512, or HxW like 64x128 (translate takes any size)",
    )
    in_channels: int = option(3, "paired: channels of A (1 grey, 3 RGB, 4 RGBA)")
    out_channels: int = option(3, "paired: channels of B (1 grey, 3 RGB, 4 RGBA)")
    space: Literal["lab", "rgb"] = option(
        "lab",
        "colorize: lab predicts the a*b* colour channels and keeps the input's lightness exactly; "
        "rgb predicts all three RGB channels",
    )
    width: int = option(
        64, "generator channels at full resolution (doubling per level, at most 8x)"
    )
    d_width: int = option(64, "discriminator channels in its first layer")
    depth: int = option(
        0, "U-Net levels, each halving the image; 0 = from the resolution (4x4 bottleneck)"
    )
    d_layers: int = option(3, "PatchGAN strided layers (3: 70x70 pixel patches, as in the paper)")
    norm: Literal["batch", "instance"] = option(
        "batch", "normalisation in both networks: batch (the paper's) or instance"
    )
    dropout: float = option(
        0.5, "dropout next to the bottleneck while training (pix2pix's noise; off when translating)"
    )
    l1_weight: float = option(100.0, "weight of the L1 distance to the target beside the GAN loss")

    def __post_init__(self) -> None:
        _require(self.task in TASKS, "task", self.task, "colorize or paired")
        lo, hi = MIN_RESOLUTION, MAX_RESOLUTION
        self.resolution = check_resolution(
            self.resolution,
            OWNER,
            lambda h, w: lo <= h <= hi and lo <= w <= hi,
            f"an integer from {lo} to {hi}, or HEIGHTxWIDTH with both sides {lo} to {hi} "
            f"(e.g. {lo}x{2 * lo})",
        )
        short = min(image_size(self.resolution))
        for name in ("in_channels", "out_channels"):
            value = getattr(self, name)
            ok = int_in(value, 1, 4) and value in IMAGE_CHANNELS
            _require(ok, name, value, "1 (grey), 3 (RGB) or 4 (RGBA)")
        _require(self.space in SPACES, "space", self.space, "lab or rgb")
        _require(int_in(self.width, 4, 1024), "width", self.width, "an integer from 4 to 1024")
        _require(
            int_in(self.d_width, 4, 1024), "d_width", self.d_width, "an integer from 4 to 1024"
        )
        ok = int_in(self.depth, 0, MAX_DEPTH) and 2**self.depth <= short
        _require(
            ok, "depth", self.depth, f"0 (auto) or 1 to {MAX_DEPTH} with 2**depth <= resolution"
        )
        m = self.levels_multiple
        bad = [side for side in image_size(self.resolution) if side % m]
        if bad:
            h, w = (m * max(1, round(side / m)) for side in image_size(self.resolution))
            like = h if h == w else f"{h}x{w}"
            raise UsageError(
                f"{OWNER}: resolution={self.resolution} is not a multiple of 2**depth="
                f"{m}; use depth=0 (auto) or a resolution like {like}"
            )
        _require(int_in(self.d_layers, 1, 6), "d_layers", self.d_layers, "an integer from 1 to 6")
        _require(self.norm in NORMS, "norm", self.norm, "batch or instance")
        ok = number_in(self.dropout, 0.0, 1.0, hi_open=True)
        _require(ok, "dropout", self.dropout, "a number from 0 to below 1 (0 = off)")
        _require(number_in(self.l1_weight, 0.0), "l1_weight", self.l1_weight, "a number >= 0")

    # -- derived shapes (not parameters) --------------------------------------------
    @property
    def levels(self) -> int:
        """The U-Net depth actually used (``depth``, or the automatic one)."""
        return self.depth or auto_depth(self.resolution)

    @property
    def levels_multiple(self) -> int:
        """Image sides the generator takes without padding are multiples of this."""
        return 2**self.levels

    @property
    def input_channels(self) -> int:
        """What the generator reads: the L channel when colourising, else A's channels."""
        return 1 if self.task == "colorize" else self.in_channels

    @property
    def output_channels(self) -> int:
        """What the generator writes: a*b* (lab) or RGB when colourising, else B's channels."""
        if self.task == "colorize":
            return 2 if self.space == "lab" else 3
        return self.out_channels

    @property
    def image_channels(self) -> int:
        """Channels of the translated images the model returns."""
        return 3 if self.task == "colorize" else self.out_channels

    @property
    def pair_channels(self) -> int:
        """``paired``: channels of each half in the dataset (the richer side's count)."""
        return max(self.in_channels, self.out_channels)

    @property
    def channels(self) -> int:
        """Channels the trainer asks the dataset for: 3 (colour) or A and B stacked."""
        return 3 if self.task == "colorize" else 2 * self.pair_channels
