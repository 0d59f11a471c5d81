"""Parameters of the built-in datasets (their fields become typed CLI params).

Kept apart from the dataset modules so that listing datasets (``artkit list
datasets``) imports neither numpy nor torch: only this module is needed to
describe the entries, and the datasets themselves are imported when one is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from artkit.errors import UsageError

FIT_MODES = ("crop", "pad", "stretch")
SHAPES_BACKGROUNDS = ("random", "dark", "light")
#: upper bound on shapes per picture (beyond this they stop being "bold flat shapes")
MAX_SHAPES = 64
#: largest emoji margin, as a fraction of the glyph's longer side on each side
MAX_EMOJI_PADDING = 2.0


def _check_colour(owner: str, name: str, value: object) -> None:
    from PIL import ImageColor

    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{owner}: {name}={value!r} must be a colour name or #rrggbb")
    try:
        ImageColor.getrgb(value.strip())
    except ValueError:
        raise UsageError(
            f"{owner}: {name}={value!r} is not a colour (use a name like white or a hex code like #202020)"
        ) from None


def _check_int(owner: str, name: str, value: object, *, low: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{owner}: {name}={value!r} must be an integer")
    if low is not None and value < low:
        raise UsageError(f"{owner}: {name}={value} must be at least {low}")


@dataclass
class FolderConfig:
    """Images from a folder on disk."""

    path: str = field(metadata={"help": "folder of images (png, jpg, webp, bmp, gif, tiff)"})
    recursive: bool = field(default=True, metadata={"help": "also read images in subfolders"})
    fit: Literal["crop", "pad", "stretch"] = field(
        default="crop",
        metadata={"help": "make images square: centre-crop, pad with background, or stretch"},
    )
    background: str = field(
        default="white",
        metadata={
            "help": "colour behind transparent pixels and padding (RGBA datasets pad with transparency)"
        },
    )

    def __post_init__(self) -> None:
        owner = "folder dataset"
        if not isinstance(self.path, str) or not self.path.strip():
            raise UsageError(f"{owner}: path= must name a folder of images")
        if not isinstance(self.recursive, bool):
            raise UsageError(f"{owner}: recursive={self.recursive!r} must be true or false")
        if self.fit not in FIT_MODES:
            raise UsageError(f"{owner}: fit={self.fit!r} is not one of: {', '.join(FIT_MODES)}")
        _check_colour(owner, "background", self.background)


@dataclass
class ShapesConfig:
    """Procedural, seeded abstract compositions of bold flat shapes."""

    count: int = field(default=4096, metadata={"help": "number of images in the dataset"})
    seed: int = field(default=0, metadata={"help": "seed; image i depends only on seed and i"})
    min_shapes: int = field(default=2, metadata={"help": "fewest shapes per image"})
    max_shapes: int = field(default=6, metadata={"help": "most shapes per image"})
    background: Literal["random", "dark", "light"] = field(
        default="random", metadata={"help": "background tone: dark, light, or random per image"}
    )

    def __post_init__(self) -> None:
        owner = "shapes dataset"
        _check_int(owner, "count", self.count, low=1)
        _check_int(owner, "seed", self.seed)
        _check_int(owner, "min_shapes", self.min_shapes, low=1)
        _check_int(owner, "max_shapes", self.max_shapes, low=1)
        if self.max_shapes > MAX_SHAPES:
            raise UsageError(f"{owner}: max_shapes={self.max_shapes} must be at most {MAX_SHAPES}")
        if self.min_shapes > self.max_shapes:
            raise UsageError(
                f"{owner}: min_shapes={self.min_shapes} is larger than max_shapes={self.max_shapes}"
            )
        if self.background not in SHAPES_BACKGROUNDS:
            raise UsageError(
                f"{owner}: background={self.background!r} is not one of: {', '.join(SHAPES_BACKGROUNDS)}"
            )


@dataclass
class EmojiConfig:
    """Colour emoji pictures rendered from the Noto Color Emoji font."""

    font: str = field(
        default="",
        metadata={"help": "path of NotoColorEmoji.ttf; empty = find the installed font"},
    )
    background: str = field(
        default="white",
        metadata={
            "help": "colour behind the emoji for RGB and grey datasets (RGBA stays transparent)"
        },
    )
    count: int = field(
        default=0, metadata={"help": "number of emoji, a seeded random subset; 0 = every emoji"}
    )
    seed: int = field(default=0, metadata={"help": "seed choosing the subset when count > 0"})
    padding: float = field(
        default=0.1,
        metadata={"help": "margin around each emoji, as a fraction of its longer side"},
    )

    def __post_init__(self) -> None:
        owner = "emoji dataset"
        if not isinstance(self.font, str):
            raise UsageError(f"{owner}: font={self.font!r} must be a path to a font file")
        _check_colour(owner, "background", self.background)
        _check_int(owner, "count", self.count, low=0)
        _check_int(owner, "seed", self.seed)
        padding = self.padding
        if isinstance(padding, bool) or not isinstance(padding, int | float):
            raise UsageError(f"{owner}: padding={padding!r} must be a number")
        if not 0.0 <= padding <= MAX_EMOJI_PADDING:
            raise UsageError(
                f"{owner}: padding={padding} must be between 0 and {MAX_EMOJI_PADDING}"
            )


def check_geometry(owner: str, resolution: object, channels: object) -> None:
    """Validate the resolution and channels a model asks a dataset for."""
    _check_int(owner, "resolution", resolution, low=1)
    if channels not in (1, 3, 4) or isinstance(channels, bool):
        raise UsageError(f"{owner}: channels={channels!r} must be 1 (grey), 3 (RGB) or 4 (RGBA)")
