"""Parameters of the paired datasets (``paired``, ``side-by-side``) for translation models.

Torch- and numpy-free, like :mod:`artkit_data.configs`, so listing datasets stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from artkit.errors import UsageError

from .configs import FIT_MODES, _check_bool, _check_colour

DIRECTIONS = ("AtoB", "BtoA")


def _check_fit(owner: str, fit: object) -> None:
    if fit not in FIT_MODES:
        raise UsageError(f"{owner}: fit={fit!r} is not one of: {', '.join(FIT_MODES)}")


def _check_folder(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{owner}: {name}= must name a folder of images")


@dataclass
class PairedConfig:
    """Two folders of images paired by file name: A (inputs) and B (targets)."""

    a: str = field(metadata={"help": "folder of the inputs (A)"})
    b: str = field(
        metadata={"help": "folder of the targets (B); files pair by relative name without suffix"}
    )
    recursive: bool = field(default=True, metadata={"help": "also read images in subfolders"})
    fit: Literal["crop", "pad", "stretch"] = field(
        default="crop",
        metadata={"help": "make images square: centre-crop, pad with background, or stretch"},
    )
    background: str = field(
        default="white", metadata={"help": "colour behind transparent pixels and padding"}
    )

    def __post_init__(self) -> None:
        owner = "paired dataset"
        _check_folder(owner, "a", self.a)
        _check_folder(owner, "b", self.b)
        _check_bool(owner, "recursive", self.recursive)
        _check_fit(owner, self.fit)
        _check_colour(owner, "background", self.background)


@dataclass
class SideBySideConfig:
    """Images holding a pair side by side (A | B), the layout pix2pix's datasets ship in."""

    path: str = field(metadata={"help": "folder of side-by-side images"})
    direction: Literal["AtoB", "BtoA"] = field(
        default="AtoB", metadata={"help": "AtoB: the left half is the input; BtoA: the right half"}
    )
    recursive: bool = field(default=True, metadata={"help": "also read images in subfolders"})
    fit: Literal["crop", "pad", "stretch"] = field(
        default="crop",
        metadata={"help": "make each half square: centre-crop, pad with background, or stretch"},
    )
    background: str = field(
        default="white", metadata={"help": "colour behind transparent pixels and padding"}
    )

    def __post_init__(self) -> None:
        owner = "side-by-side dataset"
        _check_folder(owner, "path", self.path)
        if self.direction not in DIRECTIONS:
            raise UsageError(
                f"{owner}: direction={self.direction!r} is not one of: {', '.join(DIRECTIONS)}"
            )
        _check_bool(owner, "recursive", self.recursive)
        _check_fit(owner, self.fit)
        _check_colour(owner, "background", self.background)
