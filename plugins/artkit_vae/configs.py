"""Configs of the VAE family (``vae``, ``beta-vae``) and the names of its losses.

Torch-free on purpose: ``artkit list models`` reads these dataclasses (through
:func:`artkit.registry.params_from`) to show typed parameters without importing torch.
Every config validates itself in ``__post_init__`` and raises a one-line
:class:`~artkit.errors.UsageError` naming the field and the values it accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from artkit.errors import UsageError

IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
VAE_RESOLUTIONS = (32, 64, 128)
#: Reconstruction losses this plugin registers (``bce`` comes from the GAN plugin).
RECONSTRUCTION_LOSSES: tuple[str, ...] = ("mse", "l1")


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def _require(ok: bool, owner: str, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} is not allowed; use {allowed}")


def _int_in(value: Any, lo: int, hi: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _number_in(value: Any, lo: float, hi: float = math.inf, *, lo_open: bool = False) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return (lo < value if lo_open else lo <= value) and value <= hi


@dataclass
class VAEConfig:
    """A convolutional variational autoencoder (Kingma & Welling 2014) at 32, 64 or 128 px."""

    owner: ClassVar[str] = "vae"

    resolution: int = _opt(64, "image side in pixels: 32, 64 or 128")
    channels: int = _opt(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = _opt(128, "latent vector size")
    width: float = _opt(1.0, "multiplier on every channel count (0.5 halves the networks)")
    beta: float = _opt(1.0, "weight on the KL term (beta-VAE, Higgins et al. 2017)")
    kl_warmup: int = _opt(0, "raise the KL weight linearly from 0 to beta over this many steps")
    free_bits: float = _opt(0.0, "KL floor in nats per latent dimension (0 = off)")

    def __post_init__(self) -> None:
        o = self.owner
        ok = _int_in(self.resolution, 1) and self.resolution in VAE_RESOLUTIONS
        _require(ok, o, "resolution", self.resolution, "32, 64 or 128")
        ok = _int_in(self.channels, 1, 4) and self.channels in IMAGE_CHANNELS
        _require(ok, o, "channels", self.channels, "1 (grey), 3 (RGB) or 4 (RGBA)")
        _require(_int_in(self.z_dim, 1, 65536), o, "z_dim", self.z_dim, "an integer >= 1")
        ok = _number_in(self.width, 0, 16, lo_open=True)
        _require(ok, o, "width", self.width, "a number > 0 and <= 16 (e.g. 0.5, 1, 2)")
        _require(_number_in(self.beta, 0), o, "beta", self.beta, "a number >= 0 (1 = plain VAE)")
        ok = _int_in(self.kl_warmup, 0)
        _require(ok, o, "kl_warmup", self.kl_warmup, "a number of steps >= 0 (0 = off)")
        ok = _number_in(self.free_bits, 0)
        _require(ok, o, "free_bits", self.free_bits, "a number of nats >= 0 (0 = off)")


@dataclass
class BetaVAEConfig(VAEConfig):
    """A VAE with a heavier KL weight (beta-VAE, Higgins et al. 2017): more disentangled latents."""

    owner: ClassVar[str] = "beta-vae"

    beta: float = _opt(4.0, "weight on the KL term (> 1 trades detail for disentanglement)")
