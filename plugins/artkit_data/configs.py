"""Parameters of the built-in datasets (their fields become typed CLI params).

Kept apart from the dataset modules so that listing datasets (``artkit list
datasets``) imports neither numpy nor torch: only this module is needed to
describe the entries, and the datasets themselves are imported when one is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from artkit.config_checks import image_size
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
    exclude: str = field(
        default="",
        metadata={
            "help": "file listing images to leave out, one path relative to the folder a line "
            "(# comments); `artkit data check --write-exclude` writes one"
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
        if not isinstance(self.exclude, str):
            raise UsageError(f"{owner}: exclude= must name a file listing images to leave out")


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
    """Colour emoji pictures rendered from a colour emoji font (Noto Color Emoji or OpenMoji)."""

    font: str = field(
        default="",
        metadata={
            "help": "path of a colour emoji font (NotoColorEmoji.ttf, OpenMoji's glyf_colr0.ttf); empty = the installed one"
        },
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


def check_geometry(owner: str, resolution: object, channels: object) -> tuple[int, int]:
    """Validate the resolution and channels a model asks a dataset for; ``(height, width)``.

    ``resolution`` is one side (square) or a non-square size: ``"64x128"`` or ``(64, 128)``.
    """
    try:
        size = image_size(resolution)
    except ValueError:
        raise UsageError(
            f"{owner}: resolution={resolution!r} must be an integer >= 1 or HEIGHTxWIDTH (64x128)"
        ) from None
    if channels not in (1, 3, 4) or isinstance(channels, bool):
        raise UsageError(f"{owner}: channels={channels!r} must be 1 (grey), 3 (RGB) or 4 (RGBA)")
    return size


# -- glyphs, idx, single-image, samples ----------------------------------------------

GLYPH_FITS = ("box", "em")
IDX_RESAMPLES = ("nearest", "bilinear", "lanczos")
#: largest glyph margin (fit=box): a fraction of the side on each side
MAX_GLYPH_PADDING = 0.45
#: largest em size (fit=em), as a fraction of the side
MAX_GLYPH_SIZE = 2.0
#: upper bound on the glyph character set (ranges are expanded)
MAX_GLYPH_CHARS = 4096


def _check_float(
    owner: str, name: str, value: object, *, low: float, high: float, low_open: bool = False
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{owner}: {name}={value!r} must be a number")
    if not (low < value if low_open else low <= value) or value > high:
        lower = f"more than {low}" if low_open else f"at least {low}"
        raise UsageError(f"{owner}: {name}={value} must be {lower} and at most {high}")


def _check_bool(owner: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise UsageError(f"{owner}: {name}={value!r} must be true or false")


def parse_chars(text: str, owner: str = "glyphs dataset") -> list[str]:
    """``"A-Za-z0-9"`` -> the characters, in order, without repeats.

    ``x-y`` is the inclusive range of code points; a ``-`` first or last (or
    right after a range) is itself a character.
    """
    if not isinstance(text, str) or not text:
        raise UsageError(f"{owner}: chars={text!r} must name at least one character (e.g. A-Z)")
    out: dict[str, None] = {}
    i = 0
    while i < len(text):
        ch = text[i]
        if i + 2 < len(text) and text[i + 1] == "-":
            end = text[i + 2]
            if ord(end) < ord(ch):
                raise UsageError(f"{owner}: chars range {ch}-{end} is backwards (use {end}-{ch})")
            if ord(end) - ord(ch) >= MAX_GLYPH_CHARS:
                raise UsageError(
                    f"{owner}: chars range {ch}-{end} has more than {MAX_GLYPH_CHARS} characters"
                )
            for cp in range(ord(ch), ord(end) + 1):
                out[chr(cp)] = None
            i += 3
        else:
            out[ch] = None
            i += 1
        if len(out) > MAX_GLYPH_CHARS:
            raise UsageError(f"{owner}: chars names more than {MAX_GLYPH_CHARS} characters")
    drawable = [ch for ch in out if ch.isprintable() and not ch.isspace()]
    if not drawable:
        raise UsageError(f"{owner}: chars={text!r} has no visible characters")
    return drawable


@dataclass
class GlyphsConfig:
    """Characters drawn from installed fonts: one image per (font, character)."""

    fonts: str = field(
        default="",
        metadata={
            "help": "font files: a glob (** allowed), folder or file, several joined with ':'; "
            "empty = every .ttf/.otf/.ttc under /usr/share/fonts, /usr/local/share/fonts, ~/.local/share/fonts"
        },
    )
    chars: str = field(
        default="A-Za-z0-9",
        metadata={"help": "characters to draw; ranges like a-z (a '-' at either end is literal)"},
    )
    fit: Literal["box", "em"] = field(
        default="box",
        metadata={
            "help": "box: every glyph scaled to fill the square inside padding; "
            "em: one scale per font (size), so x stays smaller than X"
        },
    )
    padding: float = field(
        default=0.1, metadata={"help": "fit=box: margin on each side, a fraction of the side"}
    )
    size: float = field(
        default=0.7, metadata={"help": "fit=em: the font's em height as a fraction of the side"}
    )
    invert: bool = field(
        default=False, metadata={"help": "black ink on white (default: white on black)"}
    )

    def __post_init__(self) -> None:
        owner = "glyphs dataset"
        if not isinstance(self.fonts, str):
            raise UsageError(f"{owner}: fonts={self.fonts!r} must be a glob, folder or font file")
        parse_chars(self.chars, owner)
        if self.fit not in GLYPH_FITS:
            raise UsageError(f"{owner}: fit={self.fit!r} is not one of: {', '.join(GLYPH_FITS)}")
        _check_float(owner, "padding", self.padding, low=0.0, high=MAX_GLYPH_PADDING)
        _check_float(owner, "size", self.size, low=0.0, high=MAX_GLYPH_SIZE, low_open=True)
        _check_bool(owner, "invert", self.invert)


@dataclass
class IdxConfig:
    """Images from MNIST-format IDX files (the format many classic datasets ship in)."""

    path: str = field(
        metadata={
            "help": "IDX image file such as train-images-idx3-ubyte (.gz is fine), "
            "or a glob of several with the same image size"
        }
    )
    count: int = field(default=0, metadata={"help": "use the first count images; 0 = all"})
    resample: Literal["nearest", "bilinear", "lanczos"] = field(
        default="bilinear", metadata={"help": "how images are resized to the resolution"}
    )
    fit: Literal["crop", "pad", "stretch"] = field(
        default="crop",
        metadata={"help": "non-square images: centre-crop, pad with black, or stretch"},
    )
    invert: bool = field(
        default=False, metadata={"help": "negate the pixels (MNIST becomes black on white)"}
    )
    labels: str = field(
        default="",
        metadata={
            "help": "IDX label file(s) for the images (default: the *-labels-idx1-ubyte "
            "beside each image file, when there is one)"
        },
    )

    def __post_init__(self) -> None:
        owner = "idx dataset"
        if not isinstance(self.path, str) or not self.path.strip():
            raise UsageError(f"{owner}: path= must name an IDX image file")
        _check_int(owner, "count", self.count, low=0)
        if self.resample not in IDX_RESAMPLES:
            raise UsageError(
                f"{owner}: resample={self.resample!r} is not one of: {', '.join(IDX_RESAMPLES)}"
            )
        if self.fit not in FIT_MODES:
            raise UsageError(f"{owner}: fit={self.fit!r} is not one of: {', '.join(FIT_MODES)}")
        _check_bool(owner, "invert", self.invert)
        if not isinstance(self.labels, str):
            raise UsageError(f"{owner}: labels= must name IDX label files")


@dataclass
class SingleImageConfig:
    """Random square crops of one picture: a dataset for texture models."""

    path: str = field(
        metadata={
            "help": "the picture; or sample:NAME for a bundled sample photo (pip install 'artkit[samples]')"
        }
    )
    count: int = field(default=1024, metadata={"help": "number of crops in the dataset"})
    min_scale: float = field(
        default=0.1,
        metadata={"help": "smallest crop side, a fraction of the picture's shorter side"},
    )
    max_scale: float = field(
        default=0.5,
        metadata={"help": "largest crop side, a fraction of the picture's shorter side"},
    )
    seed: int = field(default=0, metadata={"help": "seed; crop i depends only on seed and i"})
    flips: bool = field(default=True, metadata={"help": "flip crops at random (both axes)"})
    rotations: bool = field(default=True, metadata={"help": "turn crops by random quarter turns"})
    background: str = field(
        default="white",
        metadata={"help": "colour behind transparent pixels for RGB and grey datasets"},
    )

    def __post_init__(self) -> None:
        owner = "single-image dataset"
        if not isinstance(self.path, str) or not self.path.strip():
            raise UsageError(f"{owner}: path= must name a picture (or sample:NAME)")
        _check_int(owner, "count", self.count, low=1)
        _check_float(owner, "min_scale", self.min_scale, low=0.0, high=1.0, low_open=True)
        _check_float(owner, "max_scale", self.max_scale, low=0.0, high=1.0, low_open=True)
        if self.min_scale > self.max_scale:
            raise UsageError(
                f"{owner}: min_scale={self.min_scale} is larger than max_scale={self.max_scale}"
            )
        _check_int(owner, "seed", self.seed)
        _check_bool(owner, "flips", self.flips)
        _check_bool(owner, "rotations", self.rotations)
        _check_colour(owner, "background", self.background)


@dataclass
class SamplesConfig:
    """The real photos bundled in the scikit-image / scikit-learn wheels."""

    names: str = field(
        default="",
        metadata={
            "help": "samples joined with '/' or '+' (e.g. astronaut/coffee), or a group: "
            "photos, textures, grey; empty = every installed sample"
        },
    )
    crops: int = field(
        default=0,
        metadata={
            "help": "seeded random crops per photo (30-80% of its shorter side); 0 = one centre crop"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of the random crops"})

    def __post_init__(self) -> None:
        owner = "samples dataset"
        if not isinstance(self.names, str):
            raise UsageError(f"{owner}: names={self.names!r} must be sample names joined with '/'")
        _check_int(owner, "crops", self.crops, low=0)
        _check_int(owner, "seed", self.seed)
