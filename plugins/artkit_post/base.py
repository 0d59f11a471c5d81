"""What every post-processor shares: mode handling, alpha, colours, sizes, validation.

A post-processor is ``fn(image, **params) -> image``. The functions in this package
are written as ``fn(image, cfg)`` and wrapped by :func:`step`, which builds the
step's config dataclass from the keyword arguments (so defaults live in one place,
:mod:`artkit_post.configs`, and every call is validated the same way).

Every step accepts any Pillow mode. :func:`normalize` turns the input into one of
``L``, ``LA``, ``RGB`` or ``RGBA`` first: palette images become RGB (RGBA when they
have transparency), 16-bit greyscale is scaled to 8-bit (divide by 257, as
:func:`artkit.images.load_image` does), bilevel becomes L, CMYK and friends RGB.
Steps keep alpha where that makes sense.

numpy is only imported inside functions: Pillow-only steps (sharpen, blur, grade,
...) run without it, which keeps ``artkit post sharpen`` quick to start.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageColor

from artkit.errors import UsageError

#: The modes every step works in after :func:`normalize`.
WORK_MODES = ("L", "LA", "RGB", "RGBA")

_ALPHA_OF = {"L": "LA", "RGB": "RGBA"}
_BASE_OF = {"LA": "L", "RGBA": "RGB", "L": "L", "RGB": "RGB"}


def step(config_class: type) -> Callable[[Callable[..., Image.Image]], Callable[..., Image.Image]]:
    """Turn ``fn(image, cfg)`` into the registered ``fn(image, **params)``.

    The parameters are checked by building ``config_class(**params)``; unknown
    names are a :class:`UsageError` naming the step and its parameters.
    """
    import dataclasses

    names = [f.name for f in dataclasses.fields(config_class)]

    def decorate(fn: Callable[..., Image.Image]) -> Callable[..., Image.Image]:
        @functools.wraps(fn)
        def run(image: Image.Image, **params: Any) -> Image.Image:
            for key in params:
                if key not in names:
                    allowed = ", ".join(names) if names else "none"
                    raise UsageError(
                        f"{config_class.NAME}: unknown parameter {key!r}; allowed: {allowed}"
                    )
            return fn(image, config_class(**params))

        run.config_class = config_class  # type: ignore[attr-defined]
        return run

    return decorate


# --------------------------------------------------------------------------- modes


def normalize(im: Image.Image) -> Image.Image:
    """``im`` as L, LA, RGB or RGBA (see the module docstring)."""
    mode = im.mode
    if mode in WORK_MODES:
        if mode in ("L", "RGB") and "transparency" in im.info:
            return im.convert(_ALPHA_OF[mode])
        return im
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if alpha else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I") or mode == "F":
        from artkit.images import _to_8bit  # 16-bit scaling, shared with load_image

        return _to_8bit(im)
    if mode == "La":
        return im.convert("LA")
    if mode in ("RGBa", "RGBX"):
        return im.convert("RGBA" if mode == "RGBa" else "RGB")
    try:
        return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    except ValueError:
        return im.convert("RGBA")


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("LA", "RGBA")


def split_alpha(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Normalize ``im`` and split it into its colour part (L or RGB) and alpha (or None)."""
    im = normalize(im)
    if not has_alpha(im):
        return im, None
    return im.convert(_BASE_OF[im.mode]), im.getchannel("A")


def with_alpha(base: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """``base`` with ``alpha`` put back (no-op for None); base must be L or RGB."""
    if alpha is None:
        return base
    if base.mode not in _ALPHA_OF:
        base = base.convert("RGB")
    if base.size != alpha.size:
        alpha = alpha.resize(base.size, Image.Resampling.BILINEAR)
    base = base.copy() if base.readonly else base
    base.putalpha(alpha)
    return base


def on_colour(im: Image.Image, fn: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply ``fn`` to the colour bands (L or RGB) of ``im`` and keep its alpha as it is."""
    base, alpha = split_alpha(im)
    return with_alpha(fn(base), alpha)


def promote(im: Image.Image, colour: tuple[int, int, int, int]) -> Image.Image:
    """``im`` (normalized) in a mode that can hold ``colour``: RGB for a tint, alpha for see-through."""
    im = normalize(im)
    r, g, b, a = colour
    if im.mode in ("L", "LA") and not r == g == b:
        im = im.convert("RGB" if im.mode == "L" else "RGBA")
    if a < 255 and not has_alpha(im):
        im = im.convert(_ALPHA_OF[im.mode])
    return im


def fill_for(mode: str, colour: tuple[int, int, int, int]) -> int | tuple[int, ...]:
    """``colour`` as a fill value for an image of ``mode`` (L, LA, RGB, RGBA)."""
    r, g, b, a = colour
    if mode == "L":
        return r
    if mode == "LA":
        return (r, a)
    if mode == "RGB":
        return (r, g, b)
    return (r, g, b, a)


# --------------------------------------------------------------------------- values


def parse_colour(owner: str, name: str, value: str) -> tuple[int, int, int, int]:
    """A colour name, ``#rgb``, ``#rrggbb``, ``#rrggbbaa`` or ``transparent`` as RGBA."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in ("transparent", "none"):
        return (0, 0, 0, 0)
    try:
        rgba = ImageColor.getcolor(text, "RGBA")
    except ValueError:
        raise UsageError(
            f"{owner}: {name}={value!r} is not a colour "
            "(use a name like white, a hex code like #202020, or transparent)"
        ) from None
    return rgba  # type: ignore[return-value]


def check_pixels(owner: str, size: tuple[int, int]) -> None:
    """Refuse results larger than Pillow's decompression-bomb limit (a typo, not a picture)."""
    w, h = size
    limit = Image.MAX_IMAGE_PIXELS or 2**31
    if w * h > limit:
        raise UsageError(
            f"{owner}: the result would be {w}x{h} pixels, more than the limit of {limit:,}"
        )
