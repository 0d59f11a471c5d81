"""Validators for model config dataclasses: typed fields with help, one-line errors.

A model's config is a plain dataclass (torch-free: ``artkit list models`` reads
its fields) that checks itself in ``__post_init__``. These helpers keep every
family's fields and messages alike::

    @dataclass
    class MyConfig:
        width: int = option(64, "channels at full resolution")

        def __post_init__(self) -> None:
            require(int_in(self.width, 4, 1024), "my-model", "width", self.width,
                    "an integer from 4 to 1024")

which raises ``my-model: width=3 is not allowed; use an integer from 4 to 1024``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import field
from typing import Any

from artkit.errors import UsageError

#: image channel counts every model family accepts: grey, RGB, RGBA
IMAGE_CHANNELS = (1, 3, 4)
#: the largest latent a model takes (StyleGAN's is 512): a typo such as z_dim=100000
#: would otherwise allocate gigabytes in the first layer before anything fails
MAX_Z_DIM = 4096
#: the ``grey`` option of image generators (fastgan, dcgan, vae): see :mod:`artkit.nn.grey`
GREY_HELP = (
    "paint one grey channel copied to R, G and B (alpha kept): grey data without colour "
    "fringes; grey data (glyphs, grey IDX files, all-grey folder, samples or single-image "
    "pictures) turn it on"
)


def option(default: Any, help: str, *, files: str | None = None) -> Any:
    """A dataclass field with a default and the ``help`` the CLI and ``artkit list`` show.

    ``files``: the value is a file path (``""``) or several joined by that separator;
    see :attr:`artkit.registry.Param.files`.
    """
    metadata = {"help": help} | ({"files": files} if files is not None else {})
    return field(default=default, metadata=metadata)


def require(ok: bool, owner: str, name: str, value: Any, allowed: str) -> None:
    """Raise ``owner: name=value is not allowed; use allowed`` (a UsageError) unless ``ok``."""
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} is not allowed; use {allowed}")


def int_in(value: Any, lo: int, hi: float = math.inf) -> bool:
    """A real int (not a bool) with ``lo <= value <= hi``."""
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def number_in(
    value: Any,
    lo: float,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> bool:
    """A finite int or float (not a bool) within ``lo``..``hi``, either end open on request."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return False
    above = lo < value if lo_open else lo <= value
    below = value < hi if hi_open else value <= hi
    return above and below


# -- image sizes ------------------------------------------------------------------
# A model's ``resolution`` is one side (``64``: square) or ``"HxW"`` (``"64x128"``:
# 64 rows, 128 columns). Configs keep the plain int for square sizes, so every
# checkpoint and config written before non-square sizes existed reads the same.


def image_size(resolution: Any) -> tuple[int, int]:
    """``(height, width)`` of a resolution: an int side, ``"64"``, ``"64x128"`` or ``(64, 128)``.

    Raises ValueError for anything else (``"64x"``, ``"0x64"``, ``True``, ``2.5``).
    """
    if isinstance(resolution, str):
        parts = resolution.strip().lower().split("x")
        if len(parts) not in (1, 2) or not all(
            p.strip().isascii() and p.strip().isdigit() for p in parts
        ):
            raise ValueError(f"resolution {resolution!r} is not N or HxW")
        sides = [int(p) for p in parts]
    elif isinstance(resolution, tuple | list):
        sides = list(resolution)
    else:
        sides = [resolution]
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or not all(int_in(s, 1) for s in sides):
        raise ValueError(f"resolution {resolution!r} is not N or HxW with sides >= 1")
    return sides[0], sides[1]


def resolution_value(height: int, width: int) -> int | str:
    """The config spelling of a size: the int side when square, else ``"HxW"``."""
    return height if height == width else f"{height}x{width}"


def size_text(resolution: Any) -> str:
    """``"64"`` or ``"64x128"``: a size in messages and file names."""
    h, w = image_size(resolution)
    return str(resolution_value(h, w))


def check_resolution(
    value: Any, owner: str, fits: Callable[[int, int], bool], allowed: str
) -> int | str:
    """``value`` as a config resolution (int when square, else ``"HxW"``), or a one-line UsageError.

    ``fits(height, width)`` says whether the network can take that size; ``allowed``
    names the sizes it can take (``resolution='30x64' is not allowed; use ...``).
    """
    try:
        h, w = image_size(value)
    except ValueError:
        h = w = 0
    require(h > 0 and fits(h, w), owner, "resolution", value, allowed)
    return resolution_value(h, w)


def pyramid_fits(sides: tuple[int, ...], max_aspect: int = 4) -> Callable[[int, int], bool]:
    """``fits`` for networks grown from a small seed map by doublings (DCGAN, FastGAN, VAE).

    The shorter side is one of ``sides`` (log2(side / 4) doublings); the longer one
    is a multiple of the same stride (shorter / 4) and at most ``max_aspect`` times
    the shorter: 64x128 grows from a 4x8 seed.
    """

    def fits(h: int, w: int) -> bool:
        short, long = min(h, w), max(h, w)
        return short in sides and long % (short // 4) == 0 and long <= max_aspect * short

    return fits


def pyramid_allowed(sides: tuple[int, ...], max_aspect: int = 4) -> str:
    """The ``allowed`` text matching :func:`pyramid_fits`."""
    names = ", ".join(map(str, sides[:-1])) + f" or {sides[-1]}"
    return (
        f"{names}, or HEIGHTxWIDTH (e.g. {sides[0]}x{2 * sides[0]}) with the shorter side "
        f"{names} and the longer a multiple of shorter/4, at most {max_aspect}x the shorter"
    )
