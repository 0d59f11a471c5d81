"""Configs of the style-transfer family: the fast network and the feature extractors.

Torch-free on purpose: ``artkit list models`` / ``artkit list extractors`` read these
dataclasses (through :func:`artkit.registry.params_from`) without importing torch.
Each validates itself in ``__post_init__`` and raises a one-line
:class:`~artkit.errors.UsageError` naming the field and the values it accepts.

Loss weights refer to the *normalised* losses of
:mod:`artkit_style.nn_style_losses` (each layer's error divided by its target's
energy, so values do not depend on image size or layer width). Content weight 1
and total-variation weight 5 suit every extractor; the style weight depends on
how discriminative the extractor's Gram matrices are, so ``None`` means "the
extractor's own default" (:data:`STYLE_WEIGHTS`: random-multiscale 500, tuned by
eye on real photos; VGG 30, estimated from the usual Gatys balance -- there are no
VGG weights offline to tune against).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from artkit.errors import UsageError

#: Defaults shared by Gatys optimisation and fast-network training (normalised losses).
DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_TV_WEIGHT = 5.0

#: Default style weight per extractor (content weight 1); see the module docstring.
STYLE_WEIGHTS = {"random-multiscale": 500.0, "vgg19": 30.0, "vgg16": 30.0}
DEFAULT_STYLE_WEIGHT = STYLE_WEIGHTS["random-multiscale"]


def default_style_weight(extractor: Any) -> float:
    """The style weight for an extractor (object with ``default_style_weight``, or a name)."""
    value = getattr(extractor, "default_style_weight", None)
    if value is not None:
        return float(value)
    name = str(getattr(extractor, "name", extractor)).partition(":")[0]
    return STYLE_WEIGHTS.get(name, DEFAULT_STYLE_WEIGHT)


EXTRACTOR_NAMES = ("auto", "vgg19", "vgg16", "random-multiscale")


def _opt(default: Any, help: str, *, files: str | None = None) -> Any:
    metadata = {"help": help} | ({"files": files} if files is not None else {})
    return field(default=default, metadata=metadata)


def _require(ok: bool, owner: str, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} is not allowed; use {allowed}")


def _int_in(value: Any, lo: int, hi: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _nonneg(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


@dataclass
class FastStyleConfig:
    """A Johnson-style feed-forward style network (Johnson et al. 2016), one style per network."""

    style: str = _opt(
        "",
        "style image path(s), '|'-separated for a blend; 'sample:NAME' for a bundled photo",
        files="|",
    )
    resolution: int = _opt(256, "training crop side in pixels, 16 to 2048 (multiple of 4)")
    channels: int = _opt(3, "image channels (3, RGB)")
    width: int = _opt(32, "base channel count of the network")
    residual_blocks: int = _opt(5, "residual blocks at the bottleneck")
    content_weight: float = _opt(DEFAULT_CONTENT_WEIGHT, "weight of the normalised content loss")
    style_weight: float | None = _opt(
        None,
        "weight of the normalised style loss; None: the extractor's default "
        "(random-multiscale 500, vgg 30), see default_style_weight()",
    )
    tv_weight: float = _opt(DEFAULT_TV_WEIGHT, "weight of the total-variation loss")
    extractor: str = _opt(
        "auto", "feature extractor for the losses: auto, vgg19, vgg16, random-multiscale"
    )
    style_size: int = _opt(256, "longer side the style image(s) are resized to, in pixels")

    def __post_init__(self) -> None:
        owner = "fast-style"
        _require(
            isinstance(self.style, str),
            owner,
            "style",
            self.style,
            "a path, or paths joined by '|'",
        )
        ok = _int_in(self.resolution, 16, 2048) and self.resolution % 4 == 0
        _require(ok, owner, "resolution", self.resolution, "a multiple of 4 from 16 to 2048")
        _require(
            self.channels == 3 and _int_in(self.channels, 3, 3),
            owner,
            "channels",
            self.channels,
            "3",
        )
        _require(
            _int_in(self.width, 1, 1024), owner, "width", self.width, "an integer from 1 to 1024"
        )
        ok = _int_in(self.residual_blocks, 0, 64)
        _require(ok, owner, "residual_blocks", self.residual_blocks, "an integer from 0 to 64")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if name == "style_weight" and value is None:
                continue
            _require(_nonneg(value), owner, name, value, "a finite number >= 0")
        ok = isinstance(self.extractor, str) and bool(self.extractor.strip())
        _require(ok, owner, "extractor", self.extractor, "auto, vgg19, vgg16 or random-multiscale")
        _require(
            _int_in(self.style_size, 16, 4096),
            owner,
            "style_size",
            self.style_size,
            "an integer from 16 to 4096",
        )

    def resolved_style_weight(self, extractor: Any) -> float:
        """``style_weight``, or the extractor's default when it is None."""
        if self.style_weight is not None:
            return float(self.style_weight)
        return default_style_weight(extractor)

    @property
    def style_paths(self) -> list[str]:
        """``style`` split on ``|`` (empty parts dropped)."""
        return [p.strip() for p in self.style.split("|") if p.strip()]


@dataclass
class VGGExtractorConfig:
    """Parameters of the ``vgg19`` / ``vgg16`` extractors."""

    weights: str | None = _opt(
        None, "a .safetensors weights file (default: artkit cache, then torch hub cache)"
    )
    pooling: Literal["max", "avg"] = _opt("max", "max (torchvision) or avg (Gatys) pooling")

    def __post_init__(self) -> None:
        _require(self.pooling in ("max", "avg"), "vgg", "pooling", self.pooling, "max or avg")


@dataclass
class RandomMultiscaleConfig:
    """Parameters of the ``random-multiscale`` extractor."""

    seed: int = _opt(0, "seed of the random filters (fixed: same seed, same features)")
    width: float = _opt(1.0, "multiplier on every layer's filter count")

    def __post_init__(self) -> None:
        _require(_int_in(self.seed, 0), "random-multiscale", "seed", self.seed, "an integer >= 0")
        ok = _nonneg(self.width) and 0 < self.width <= 8
        _require(ok, "random-multiscale", "width", self.width, "a number > 0 and <= 8")
