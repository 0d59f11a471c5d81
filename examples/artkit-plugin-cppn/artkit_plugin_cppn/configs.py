"""Parameters of everything this plugin registers (plain dataclasses, no torch).

artkit reads the fields (type, default, ``metadata["help"]``) to parse and list
``name:key=value`` options; ``__post_init__`` rejects bad values with one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from artkit.errors import UsageError


def _opt(default, help: str):
    return field(default=default, metadata={"help": help})


def _need(ok: bool, owner: str, name: str, value, what: str) -> None:
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} must be {what}")


def _int_in(value, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


@dataclass
class CPPNConfig:
    """A compositional pattern-producing network: a random MLP over (x, y, r, z)."""

    width: int = _opt(256, "image width in pixels (any size: the network is resolution-free)")
    height: int = _opt(256, "image height in pixels")
    colour: Literal["rgb", "hsv", "grey"] = _opt(
        "rgb", "rgb (soft blends), hsv (the outputs are hue, saturation, value: every hue) or grey"
    )
    net_seed: int = _opt(0, "which random network: its palette and style (the sample seed picks z)")
    z_dim: int = _opt(8, "latent size: each seed's z picks one pattern of the family")
    hidden: int = _opt(32, "width of the hidden layers")
    layers: int = _opt(4, "hidden layers")
    activation: Literal["mix", "tanh", "sin", "gauss"] = _opt(
        "mix", "mix (sin, tanh, gauss in turn), tanh, sin or gauss"
    )
    scale: float = _opt(4.0, "zoom: the coordinate range is [-scale, scale] on the shorter side")
    z_scale: float = _opt(1.0, "how strongly the latent bends the pattern")

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            v = getattr(self, name)
            _need(_int_in(v, 1, 16384), "cppn", name, v, "an integer from 1 to 16384")
        _need(
            self.colour in ("rgb", "hsv", "grey"), "cppn", "colour", self.colour, "rgb, hsv or grey"
        )
        _need(
            _int_in(self.net_seed, 0, 2**63 - 1),
            "cppn",
            "net_seed",
            self.net_seed,
            "an integer >= 0",
        )
        _need(_int_in(self.z_dim, 1, 512), "cppn", "z_dim", self.z_dim, "an integer from 1 to 512")
        _need(_int_in(self.hidden, 2, 1024), "cppn", "hidden", self.hidden, "from 2 to 1024")
        _need(_int_in(self.layers, 1, 32), "cppn", "layers", self.layers, "from 1 to 32")
        _need(
            self.activation in ("mix", "tanh", "sin", "gauss"),
            "cppn", "activation", self.activation, "mix, tanh, sin or gauss",
        )  # fmt: skip
        for name in ("scale", "z_scale"):
            v = getattr(self, name)
            ok = isinstance(v, int | float) and math.isfinite(v) and 0 < v <= 1e4
            _need(ok, "cppn", name, v, "a number above 0")

    @property
    def channels(self) -> int:
        """Image channels: 1 for grey, else 3."""
        return 1 if self.colour == "grey" else 3


@dataclass
class PixelSortConfig:
    """Pixel sorting: sort runs of pixels whose brightness lies in [lo, hi], by brightness."""

    lo: float = _opt(0.25, "lowest brightness (0-1) a sorted run may contain")
    hi: float = _opt(0.8, "highest brightness (0-1) a sorted run may contain")
    direction: Literal["horizontal", "vertical"] = _opt("horizontal", "horizontal or vertical")
    reverse: bool = _opt(False, "sort bright to dark instead of dark to bright")

    def __post_init__(self) -> None:
        for name in ("lo", "hi"):
            v = getattr(self, name)
            ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
            _need(ok, "pixelsort", name, v, "a number from 0 to 1")
        _need(self.lo <= self.hi, "pixelsort", "lo", self.lo, f"at most hi={self.hi}")
        _need(
            self.direction in ("horizontal", "vertical"),
            "pixelsort", "direction", self.direction, "horizontal or vertical",
        )  # fmt: skip
        _need(isinstance(self.reverse, bool), "pixelsort", "reverse", self.reverse, "true or false")


@dataclass
class TinyGANConfig:
    """A tiny convolutional GAN: trains on a CPU in seconds, samples with a contrast knob."""

    # every trainable model's config has these two: artkit train builds the dataset with them
    resolution: int = _opt(32, "image size in pixels: 8, 16, 32 or 64")
    channels: int = _opt(3, "1 (grey) or 3 (RGB)")
    z_dim: int = _opt(32, "latent size")
    width: int = _opt(32, "feature maps per layer")

    def __post_init__(self) -> None:
        r, c = self.resolution, self.channels
        _need(r in (8, 16, 32, 64), "tinygan", "resolution", r, "8, 16, 32 or 64")
        _need(c in (1, 3), "tinygan", "channels", c, "1 or 3")
        _need(_int_in(self.z_dim, 1, 512), "tinygan", "z_dim", self.z_dim, "from 1 to 512")
        _need(_int_in(self.width, 1, 512), "tinygan", "width", self.width, "from 1 to 512")
