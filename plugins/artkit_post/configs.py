"""Parameters of the built-in post-processors (their fields become typed CLI params).

One dataclass per step. ``artkit list post`` and the command-line parser only need
this module, which imports neither numpy nor torch (nor Pillow, until a colour is
checked). Each class validates itself in ``__post_init__``: types first (generic,
from the annotations), then ranges in :meth:`StepConfig.check`. Every message is
one line that starts with the step's name, e.g. ``palette: colors=0 must be between
2 and 256``.

Sizes are written ``WxH`` on the command line (``size=64x48``); a single number
means a square. Boxes are ``left/top/right/bottom``.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from artkit.errors import UsageError

Filter = Literal["lanczos", "nearest", "bilinear", "bicubic", "box"]
Anchor = Literal[
    "centre",
    "top",
    "bottom",
    "left",
    "right",
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
]

#: Largest width or height a step may be asked to produce or work with.
MAX_SIDE = 65535


def _help(text: str, default: Any = None, *, files: str | None = None, **kw: Any) -> Any:
    metadata = {"help": text} | ({"files": files} if files is not None else {})
    return field(default=default, metadata=metadata, **kw)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_type(owner: str, name: str, value: Any, tp: Any) -> Any:
    """``value`` checked against ``tp`` (as the CLI would have converted it); returns it, normalised."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(owner, name, value, inner[0])
    if origin is Literal:
        if value not in args:
            raise UsageError(f"{owner}: {name}={value!r} is not one of: {', '.join(args)}")
        return value
    if origin is tuple:
        if isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise UsageError(f"{owner}: {name}={value!r} must be whole numbers like 64x48")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{owner}: {name}={value!r} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{owner}: {name}={value!r} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{owner}: {name}={value!r} must be a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"{owner}: {name}={value!r} must be a finite number")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise UsageError(f"{owner}: {name}={value!r} must be text")
    return value


class StepConfig:
    """Base of the step configs: generic type checks, then :meth:`check`."""

    NAME: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            value = _check_type(self.NAME, f.name, getattr(self, f.name), hints[f.name])
            setattr(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Range and consistency checks (subclasses)."""

    # helpers for check() ---------------------------------------------------------
    def between(self, name: str, low: float, high: float) -> None:
        value = getattr(self, name)
        if not low <= value <= high:
            raise UsageError(f"{self.NAME}: {name}={value:g} must be between {low:g} and {high:g}")

    def positive(self, name: str, high: float) -> None:
        value = getattr(self, name)
        if not 0 < value <= high:
            raise UsageError(
                f"{self.NAME}: {name}={value:g} must be greater than 0 and at most {high:g}"
            )

    def wxh(self, name: str, *, zero_ok: bool = False) -> None:
        """Normalise a ``W``/``WxH`` field to a (w, h) pair and check it."""
        value = getattr(self, name)
        if value is None:
            return
        if len(value) == 1:
            value = (value[0], value[0])
        low = 0 if zero_ok else 1
        if len(value) != 2 or not all(low <= v <= MAX_SIDE for v in value):
            raise UsageError(
                f"{self.NAME}: {name}={_fmt_tuple(value)} must be WxH with sides from {low} to {MAX_SIDE}"
            )
        if zero_ok and value == (0, 0):
            raise UsageError(f"{self.NAME}: {name}=0x0: give at least the width or the height")
        setattr(self, name, value)

    def colour(self, name: str, *, auto_ok: bool = False) -> None:
        value = getattr(self, name)
        if auto_ok and value == "auto":
            return
        from artkit_post.base import parse_colour

        parse_colour(self.NAME, name, value)


def _fmt_tuple(value: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in value)


# --------------------------------------------------------------------------- geometry


@dataclass(repr=False, eq=False)
class ResizeConfig(StepConfig):
    """Resize by a factor (scale=0.5) or to a size (size=WxH; 0 keeps the aspect ratio)."""

    NAME: ClassVar[str] = "resize"
    #: what artkit.testing.check_postprocessor calls it with (it needs one of its options)
    TEST_PARAMS: ClassVar[dict[str, str]] = {"size": "12x10"}
    scale: float | None = _help("factor for both sides, e.g. 0.5 or 2")
    size: tuple[int, ...] | None = _help("WxH in pixels; W or H may be 0 to keep the aspect ratio")
    filter: Filter = field(default="lanczos", metadata={"help": "resampling filter"})

    def check(self) -> None:
        if (self.scale is None) == (self.size is None):
            raise UsageError(f"{self.NAME}: give either scale= or size=WxH (exactly one)")
        if self.scale is not None:
            self.positive("scale", 64)
        self.wxh("size", zero_ok=True)


@dataclass(repr=False, eq=False)
class CropConfig(StepConfig):
    """Crop to a box (box=left/top/right/bottom) or to a size around an anchor (size=WxH)."""

    NAME: ClassVar[str] = "crop"
    #: what artkit.testing.check_postprocessor calls it with (it needs one of its options)
    TEST_PARAMS: ClassVar[dict[str, str]] = {"size": "12x10"}
    size: tuple[int, ...] | None = _help("WxH to keep (clamped to the image)")
    anchor: Anchor = field(default="centre", metadata={"help": "which part to keep with size="})
    box: tuple[int, ...] | None = _help("left/top/right/bottom in pixels (clamped to the image)")

    def check(self) -> None:
        if (self.size is None) == (self.box is None):
            raise UsageError(f"{self.NAME}: give either size=WxH or box=left/top/right/bottom")
        self.wxh("size")
        if self.box is not None:
            if len(self.box) != 4:
                raise UsageError(
                    f"{self.NAME}: box={'/'.join(map(str, self.box))} must be left/top/right/bottom"
                )
            left, top, right, bottom = self.box
            if right <= left or bottom <= top:
                raise UsageError(
                    f"{self.NAME}: box={'/'.join(map(str, self.box))} is empty (right must exceed left, bottom top)"
                )


@dataclass(repr=False, eq=False)
class FitConfig(StepConfig):
    """Fit into WxH keeping the aspect ratio: contain (inside), cover (fill and crop) or stretch."""

    NAME: ClassVar[str] = "fit"
    size: tuple[int, ...] = _help("target WxH (a single number: a square)", (512, 512))
    mode: Literal["contain", "cover", "stretch"] = _help(
        "contain: whole image inside WxH; cover: fill WxH, crop the rest; stretch: exactly WxH",
        "contain",
    )
    anchor: Anchor = field(default="centre", metadata={"help": "which part cover keeps"})
    filter: Filter = field(default="lanczos", metadata={"help": "resampling filter"})

    def check(self) -> None:
        self.wxh("size")


@dataclass(repr=False, eq=False)
class PadConfig(StepConfig):
    """Pad to at least WxH (size=) or by px on every side (px=), with a colour."""

    NAME: ClassVar[str] = "pad"
    #: what artkit.testing.check_postprocessor calls it with (it needs one of its options)
    TEST_PARAMS: ClassVar[dict[str, str]] = {"px": 2}
    size: tuple[int, ...] | None = _help("pad up to at least WxH")
    px: int | None = _help("pixels added on every side")
    color: str = _help("padding colour; auto = transparent with alpha, else black", "auto")
    anchor: Anchor = field(default="centre", metadata={"help": "where the image sits with size="})

    def check(self) -> None:
        if (self.size is None) == (self.px is None):
            raise UsageError(f"{self.NAME}: give either size=WxH or px=N (exactly one)")
        self.wxh("size")
        if self.px is not None:
            self.between("px", 0, 16384)
        self.colour("color", auto_ok=True)


@dataclass(repr=False, eq=False)
class UpscaleConfig(StepConfig):
    """Integer nearest-neighbour upscale: crisp pixel art (factor=4 turns 64x64 into 256x256)."""

    NAME: ClassVar[str] = "upscale"
    factor: int = _help("whole-number scale factor", 2)

    def check(self) -> None:
        self.between("factor", 1, 64)


@dataclass(repr=False, eq=False)
class MirrorConfig(StepConfig):
    """Mirror symmetry: reflect one half onto the other (left onto right by default)."""

    NAME: ClassVar[str] = "mirror"
    axis: Literal["horizontal", "vertical", "both"] = _help(
        "horizontal: left/right symmetric; vertical: top/bottom; both: four-way", "horizontal"
    )
    reverse: bool = _help("keep the right/bottom half instead of the left/top", False)


@dataclass(repr=False, eq=False)
class FlipConfig(StepConfig):
    """Flip the image: horizontal (left-right), vertical (upside down) or both."""

    NAME: ClassVar[str] = "flip"
    axis: Literal["horizontal", "vertical", "both"] = _help("which way to flip", "horizontal")


@dataclass(repr=False, eq=False)
class KaleidoscopeConfig(StepConfig):
    """Kaleidoscope: one wedge of the image reflected around the centre into N segments."""

    NAME: ClassVar[str] = "kaleidoscope"
    segments: int = _help("number of mirrored wedges (even, 2 to 64)", 6)
    angle: float = _help("rotate the source wedge by this many degrees", 0.0)

    def check(self) -> None:
        if not 2 <= self.segments <= 64 or self.segments % 2:
            raise UsageError(
                f"{self.NAME}: segments={self.segments} must be an even number between 2 and 64"
            )
        self.between("angle", -360, 360)


@dataclass(repr=False, eq=False)
class TileConfig(StepConfig):
    """Repeat the image nx by ny times (mirror=true alternates flips for seamless tiles)."""

    NAME: ClassVar[str] = "tile"
    nx: int = _help("copies across", 2)
    ny: int = _help("copies down", 2)
    mirror: bool = _help("flip every other copy so the edges meet seamlessly", False)

    def check(self) -> None:
        self.between("nx", 1, 64)
        self.between("ny", 1, 64)


# --------------------------------------------------------------------------- frames


@dataclass(repr=False, eq=False)
class BorderConfig(StepConfig):
    """Add a solid border of width pixels around the image."""

    NAME: ClassVar[str] = "border"
    width: int = _help("border width in pixels", 8)
    color: str = _help("border colour (name, #rrggbb, #rrggbbaa, transparent)", "white")

    def check(self) -> None:
        self.between("width", 0, 16384)
        self.colour("color")


@dataclass(repr=False, eq=False)
class FrameConfig(StepConfig):
    """A simple two-tone bevelled frame: lit top and left edges, shaded bottom and right."""

    NAME: ClassVar[str] = "frame"
    width: int = _help("frame width in pixels", 16)
    color: str = _help("frame colour", "#6b4f2a")
    shade: float = _help("how much lighter/darker the two tones are (0 = flat)", 0.3)

    def check(self) -> None:
        self.between("width", 1, 16384)
        self.colour("color")
        self.between("shade", 0, 1)


# --------------------------------------------------------------------------- colour


@dataclass(repr=False, eq=False)
class GradeConfig(StepConfig):
    """Colour grade: brightness, contrast, saturation (1 = unchanged), hue shift, gamma."""

    NAME: ClassVar[str] = "grade"
    brightness: float = _help("multiply brightness (0 = black, 1 = unchanged)", 1.0)
    contrast: float = _help("contrast around the mean grey (0 = flat grey, 1 = unchanged)", 1.0)
    saturation: float = _help("colourfulness (0 = grey, 1 = unchanged)", 1.0)
    hue: float = _help("rotate hues by this many degrees", 0.0)
    gamma: float = _help("gamma (>1 brightens mid-tones, <1 darkens)", 1.0)

    def check(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            self.between(name, 0, 10)
        self.between("hue", -360, 360)
        self.between("gamma", 0.05, 20)


@dataclass(repr=False, eq=False)
class PosterizeConfig(StepConfig):
    """Keep only the top bits of each channel (bits=2 leaves 4 levels per channel)."""

    NAME: ClassVar[str] = "posterize"
    bits: int = _help("bits kept per channel", 4)

    def check(self) -> None:
        self.between("bits", 1, 8)


@dataclass(repr=False, eq=False)
class GreyscaleConfig(StepConfig):
    """Convert to greyscale (keeps alpha)."""

    NAME: ClassVar[str] = "greyscale"


@dataclass(repr=False, eq=False)
class SepiaConfig(StepConfig):
    """Sepia tone (keeps alpha); strength blends with the original."""

    NAME: ClassVar[str] = "sepia"
    strength: float = _help("0 = unchanged, 1 = full sepia", 1.0)

    def check(self) -> None:
        self.between("strength", 0, 1)


@dataclass(repr=False, eq=False)
class InvertConfig(StepConfig):
    """Invert the colours (alpha is kept)."""

    NAME: ClassVar[str] = "invert"


@dataclass(repr=False, eq=False)
class FlattenConfig(StepConfig):
    """Composite transparent pixels onto a solid background colour (removes alpha)."""

    NAME: ClassVar[str] = "flatten"
    color: str = _help("background colour", "white")

    def check(self) -> None:
        self.colour("color")


@dataclass(repr=False, eq=False)
class PaletteConfig(StepConfig):
    """Reduce to N colours (k-means or median cut) or to a palette file, optionally dithered."""

    NAME: ClassVar[str] = "palette"
    colors: int = _help("number of colours to choose (ignored with file=)", 16)
    method: Literal["kmeans", "median-cut"] = _help("how the colours are chosen", "kmeans")
    file: str = _help(
        "fixed palette: an image (its colours), a .gpl GIMP palette, or a .txt/.hex list of #rrggbb",
        "",
        files="",
    )
    dither: Literal["none", "floyd", "ordered"] = _help(
        "none, floyd (Floyd-Steinberg error diffusion) or ordered (8x8 Bayer)", "none"
    )

    def check(self) -> None:
        self.between("colors", 2, 256)
        if self.file:
            from artkit_post.palette_files import read_palette_file

            read_palette_file(self.file)  # cached; a bad file fails before any image is read


# --------------------------------------------------------------------------- effects


@dataclass(repr=False, eq=False)
class GrainConfig(StepConfig):
    """Film grain: seeded Gaussian noise (the same seed gives the same grain)."""

    NAME: ClassVar[str] = "grain"
    amount: float = _help("noise strength (standard deviation as a fraction of full range)", 0.08)
    seed: int = _help("random seed", 0)
    mono: bool = _help("the same noise in every channel (false: colour noise)", True)

    def check(self) -> None:
        self.between("amount", 0, 1)
        if not 0 <= self.seed < 2**63:
            raise UsageError(f"{self.NAME}: seed={self.seed} must be from 0 to 2**63-1")


@dataclass(repr=False, eq=False)
class VignetteConfig(StepConfig):
    """Darken the edges: a smooth radial falloff towards the corners."""

    NAME: ClassVar[str] = "vignette"
    strength: float = _help("how dark the corners get (0 = none, 1 = black)", 0.5)
    radius: float = _help("where darkening starts, as a fraction of centre-to-corner", 0.5)

    def check(self) -> None:
        self.between("strength", 0, 1)
        self.between("radius", 0, 1)


@dataclass(repr=False, eq=False)
class SharpenConfig(StepConfig):
    """Unsharp mask: sharpen edges (radius in pixels, percent strength, threshold in levels)."""

    NAME: ClassVar[str] = "sharpen"
    radius: float = _help("blur radius of the mask in pixels", 2.0)
    percent: int = _help("strength in percent", 150)
    threshold: int = _help("minimum brightness change to sharpen (0-255)", 3)

    def check(self) -> None:
        self.between("radius", 0, 100)
        self.between("percent", 0, 1000)
        self.between("threshold", 0, 255)


@dataclass(repr=False, eq=False)
class BlurConfig(StepConfig):
    """Blur with a Gaussian or box kernel (alpha-aware)."""

    NAME: ClassVar[str] = "blur"
    radius: float = _help("blur radius in pixels", 2.0)
    kind: Literal["gaussian", "box"] = _help("kernel", "gaussian")

    def check(self) -> None:
        self.between("radius", 0, 1000)


@dataclass(repr=False, eq=False)
class PixelateConfig(StepConfig):
    """Pixelate: average size x size blocks (the image keeps its size)."""

    NAME: ClassVar[str] = "pixelate"
    size: int = _help("block size in pixels", 8)

    def check(self) -> None:
        self.between("size", 1, 4096)


@dataclass(repr=False, eq=False)
class HalftoneConfig(StepConfig):
    """Halftone: dots on a rotated grid, sized by darkness (mono, or CMYK screens)."""

    NAME: ClassVar[str] = "halftone"
    cell: int = _help("dot spacing in pixels", 8)
    angle: float = _help("screen angle in degrees", 45.0)
    color: Literal["mono", "cmyk"] = _help(
        "mono: black dots; cmyk: four rotated colour screens", "mono"
    )

    def check(self) -> None:
        self.between("cell", 2, 256)
        self.between("angle", -360, 360)
