"""Reading palette files for the palette step's ``file=``, torch- and numpy-free.

Its own module so that the step's config can check a file while parsing options
(:class:`artkit_post.configs.PaletteConfig`) and the step can use its colours,
without the config and the step importing each other.

Palette files: an image (its distinct colours, at most 256), a GIMP ``.gpl``
palette, or a text list (``.txt``, ``.hex``, anything else) with one colour per
line: ``#rrggbb``, ``#rgb``, ``rrggbb`` (lospec .hex), ``aarrggbb`` (paint.net
.txt) or a colour name; lines starting with ``;`` or ``//`` are comments.
"""

from __future__ import annotations

import functools
import os
import re

from PIL import ImageColor

from artkit.errors import ArtkitError, UsageError
from artkit.images import is_image_path

RGB = tuple[int, int, int]

_HEX = re.compile(r"#?[0-9a-fA-F]+")


def read_palette_file(path: str) -> tuple[RGB, ...]:
    """The colours of a palette file; a :class:`UsageError` naming the file when it cannot be used."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        if isinstance(exc, FileNotFoundError):
            why = "no such file"
        else:
            why = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"palette: file={path!r}: {why}") from None
    return _read_palette_file(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read_palette_file(path: str, mtime_ns: int, size: int) -> tuple[RGB, ...]:
    del mtime_ns, size  # only part of the cache key: an edited file is read again
    where = f"palette: file={path!r}"
    if is_image_path(path):
        from artkit.images import load_image

        try:
            im = load_image(path, mode="RGB")
        except ArtkitError as exc:
            raise UsageError(f"{where}: {exc}") from None
        found = im.getcolors(maxcolors=256)
        if found is None:
            raise UsageError(
                f"{where}: the image has more than 256 colours; a palette image must have at most 256"
            )
        colours = tuple(c for _, c in sorted(found, key=lambda item: (-item[0], item[1])))
    else:
        try:
            with open(path, encoding="utf-8", errors="replace") as fp:
                lines = fp.read().splitlines()
        except OSError as exc:
            raise UsageError(f"{where}: {exc.strerror}") from None
        if lines and lines[0].strip().lower() == "gimp palette":
            colours = _parse_gpl(lines, where)
        else:
            colours = _parse_text(lines, where)
    if not colours:
        raise UsageError(f"{where}: no colours found")
    if len(colours) > 256:
        raise UsageError(f"{where}: {len(colours)} colours; a palette may have at most 256")
    return colours


def _parse_gpl(lines: list[str], where: str) -> tuple[RGB, ...]:
    colours = []
    for number, line in enumerate(lines[1:], start=2):
        text = line.strip()
        if not text or text.startswith("#") or ":" in text.split()[0]:
            continue  # comments, Name:, Columns:
        parts = text.split()
        try:
            r, g, b = (int(p) for p in parts[:3])
        except ValueError:
            raise UsageError(
                f"{where} line {number}: expected 'R G B [name]', got {text!r}"
            ) from None
        if not all(0 <= c <= 255 for c in (r, g, b)):
            raise UsageError(f"{where} line {number}: colour values must be 0 to 255")
        colours.append((r, g, b))
    return tuple(colours)


def _parse_text(lines: list[str], where: str) -> tuple[RGB, ...]:
    colours = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith((";", "//")):
            continue
        token = text.split()[0]
        colour = _parse_token(token)
        if colour is None:
            raise UsageError(f"{where} line {number}: {token!r} is not a colour")
        colours.append(colour)
    return tuple(colours)


def _parse_token(token: str) -> RGB | None:
    if _HEX.fullmatch(token):
        digits = token.lstrip("#")
        if not token.startswith("#") and len(digits) == 8:  # paint.net: aarrggbb
            digits = digits[2:]
        if len(digits) in (6, 8):
            return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
        if len(digits) == 3:
            return (int(digits[0] * 2, 16), int(digits[1] * 2, 16), int(digits[2] * 2, 16))
    try:
        r, g, b = ImageColor.getrgb(token)[:3]
    except ValueError:
        return None
    return (r, g, b)
