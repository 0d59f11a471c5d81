"""Configs of the GAN networks, and the names of GAN losses and DiffAugment ops.

Torch-free on purpose: ``artkit list models`` reads these dataclasses (through
:func:`artkit.registry.params_from`) to show typed parameters without importing torch.
Every config validates itself in ``__post_init__`` and raises a one-line
:class:`~artkit.errors.UsageError` naming the field and the values it accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from artkit.errors import UsageError

GANLossName = Literal["bce", "hinge", "lsgan", "wgan-gp"]
LOSS_NAMES: tuple[str, ...] = get_args(GANLossName)
DIFFAUGMENT_OPS: tuple[str, ...] = ("color", "translation", "cutout")
IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
DCGAN_RESOLUTIONS = (32, 64, 128)


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def _require(ok: bool, owner: str, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} is not allowed; use {allowed}")


def _int_in(value: Any, lo: int, hi: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _check_common(cfg: Any, owner: str) -> None:
    ok = _int_in(cfg.channels, 1, 4) and cfg.channels in IMAGE_CHANNELS
    _require(ok, owner, "channels", cfg.channels, "1 (grey), 3 (RGB) or 4 (RGBA)")
    _require(_int_in(cfg.z_dim, 1), owner, "z_dim", cfg.z_dim, "an integer >= 1")


@dataclass
class MLPGANConfig:
    """A fully connected GAN (Goodfellow et al. 2014): small images, quick to train."""

    resolution: int = _opt(32, "image side in pixels, 4 to 256")
    channels: int = _opt(1, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = _opt(100, "latent vector size")
    hidden: int = _opt(1024, "hidden layer width (the discriminator's last one is half)")

    def __post_init__(self) -> None:
        _check_common(self, "mlp-gan")
        ok = _int_in(self.resolution, 4, 256)
        _require(ok, "mlp-gan", "resolution", self.resolution, "an integer from 4 to 256")
        _require(_int_in(self.hidden, 2), "mlp-gan", "hidden", self.hidden, "an integer >= 2")


@dataclass
class DCGANConfig:
    """A deep convolutional GAN (Radford et al. 2015) at 32, 64 or 128 pixels."""

    resolution: int = _opt(64, "image side in pixels: 32, 64 or 128")
    channels: int = _opt(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = _opt(128, "latent vector size")
    width: float = _opt(1.0, "multiplier on every channel count (0.5 halves the networks)")
    d_norm: Literal["batch", "spectral", "none"] = _opt(
        "spectral", "discriminator normalisation: batch, spectral or none"
    )

    def __post_init__(self) -> None:
        ok = self.resolution in DCGAN_RESOLUTIONS and _int_in(self.resolution, 1)
        _require(ok, "dcgan", "resolution", self.resolution, "32, 64 or 128")
        _check_common(self, "dcgan")
        ok = isinstance(self.width, int | float) and not isinstance(self.width, bool)
        ok = ok and math.isfinite(self.width) and 0 < self.width <= 16
        _require(ok, "dcgan", "width", self.width, "a number > 0 and <= 16 (e.g. 0.5, 1, 2)")
        ok = self.d_norm in ("batch", "spectral", "none")
        _require(ok, "dcgan", "d_norm", self.d_norm, "batch, spectral or none")


def parse_policy(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")``; unknown ops are a UsageError.

    ``""``, ``"none"`` and ``None`` mean no augmentation. ``colour`` is accepted for ``color``.
    """
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    ops: list[str] = []
    for part in parts:
        op = part.strip().lower().replace("colour", "color")
        if not op or op == "none":
            continue
        if op not in DIFFAUGMENT_OPS:
            known = ", ".join(DIFFAUGMENT_OPS)
            raise UsageError(f"unknown DiffAugment op {part.strip()!r}; known: {known}")
        if op not in ops:
            ops.append(op)
    return tuple(ops)
