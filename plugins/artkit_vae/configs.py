"""Configs of the VAE family (``vae``, ``beta-vae``) and the names of its losses.

Torch-free on purpose: ``artkit list models`` reads these dataclasses (through
:func:`artkit.registry.params_from`) to show typed parameters without importing torch.
Every config validates itself in ``__post_init__`` and raises a one-line
:class:`~artkit.errors.UsageError` naming the field and the values it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

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
from artkit.errors import UsageError

VAE_RESOLUTIONS = (32, 64, 128)
#: the most numbers the gmm prior's covariances may hold (K x z_dim^2, 268 MB of float32):
#: checked before the buffers are allocated, so a huge z_dim is an error, not a crash
MAX_PRIOR_NUMBERS = 2**26
#: Reconstruction losses this plugin registers (``bce`` comes from the GAN plugin).
RECONSTRUCTION_LOSSES: tuple[str, ...] = ("mse", "l1")


@dataclass
class VAEConfig:
    """A convolutional variational autoencoder (Kingma & Welling 2014) at 32, 64 or 128 px."""

    owner: ClassVar[str] = "vae"

    resolution: str | int = option(
        64, "image side in pixels: 32, 64 or 128, or HxW like 64x128 (height x width)"
    )
    channels: int = option(3, "image channels: 1 grey, 3 RGB, 4 RGBA")
    z_dim: int = option(128, "latent vector size")
    width: float = option(1.0, "multiplier on every channel count (0.5 halves the networks)")
    beta: float = option(1.0, "weight on the KL term (beta-VAE, Higgins et al. 2017)")
    kl_warmup: int = option(0, "raise the KL weight linearly from 0 to beta over this many steps")
    free_bits: float = option(0.0, "KL floor in nats per latent dimension (0 = off)")
    prior: Literal["gmm", "normal"] = option(
        "gmm", "what sample draws from: gmm fitted to the training codes after training, or N(0, I)"
    )
    prior_components: int = option(
        10, "Gaussians in the gmm prior (1 = one full-covariance Gaussian)"
    )
    prior_copy_test: bool = option(
        False,
        "halve prior_components (up to twice) while the prior's samples copy the training "
        "images: the data-copying test against a held-out fifth of them, after training",
    )
    grey: bool = option(False, GREY_HELP)

    def __post_init__(self) -> None:
        o = self.owner
        fits, allowed = pyramid_fits(VAE_RESOLUTIONS), pyramid_allowed(VAE_RESOLUTIONS)
        self.resolution = check_resolution(self.resolution, o, fits, allowed)
        ok = int_in(self.channels, 1, 4) and self.channels in IMAGE_CHANNELS
        require(ok, o, "channels", self.channels, "1 (grey), 3 (RGB) or 4 (RGBA)")
        ok = int_in(self.z_dim, 1, MAX_Z_DIM)
        require(ok, o, "z_dim", self.z_dim, f"an integer from 1 to {MAX_Z_DIM}")
        ok = number_in(self.width, 0, 16, lo_open=True)
        require(ok, o, "width", self.width, "a number > 0 and <= 16 (e.g. 0.5, 1, 2)")
        require(number_in(self.beta, 0), o, "beta", self.beta, "a number >= 0 (1 = plain VAE)")
        ok = int_in(self.kl_warmup, 0)
        require(ok, o, "kl_warmup", self.kl_warmup, "a number of steps >= 0 (0 = off)")
        ok = number_in(self.free_bits, 0)
        require(ok, o, "free_bits", self.free_bits, "a number of nats >= 0 (0 = off)")
        require(self.prior in ("gmm", "normal"), o, "prior", self.prior, "gmm or normal")
        require(isinstance(self.grey, bool), o, "grey", self.grey, "true or false")
        ok = isinstance(self.prior_copy_test, bool)
        require(ok, o, "prior_copy_test", self.prior_copy_test, "true or false")
        ok = int_in(self.prior_components, 1, 256)
        require(ok, o, "prior_components", self.prior_components, "an integer from 1 to 256")
        k, z = self.prior_components, self.z_dim
        if self.prior == "gmm" and k * z * z > MAX_PRIOR_NUMBERS:
            fit = MAX_PRIOR_NUMBERS // (z * z)  # components whose covariances fit (>= 4)
            raise UsageError(
                f"{o}: a gmm prior of {k} components at z_dim {z} holds {k * z * z:,} numbers, "
                f"more than {MAX_PRIOR_NUMBERS:,}; use at most {fit} components, a smaller "
                "z_dim or prior=normal"
            )


@dataclass
class BetaVAEConfig(VAEConfig):
    """A VAE with a heavier KL weight (beta-VAE, Higgins et al. 2017): more disentangled latents."""

    owner: ClassVar[str] = "beta-vae"

    beta: float = option(4.0, "weight on the KL term (> 1 trades detail for disentanglement)")
