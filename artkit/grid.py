"""Contact sheets: many pictures laid out on one grid.

Public API::

    make_grid(images, *, columns=None, padding=2, background=(255, 255, 255),
              labels=None, cell=None) -> PIL.Image.Image
    grid_from_array(array, columns=None, padding=2, *, background=(255, 255, 255))
        -> PIL.Image.Image
    save_contact_sheet(paths, out_path, *, columns=None, thumb=None, labels=True,
                       provenance=None) -> Path

Layout (shared by both builders, so they give identical pixels for the same input):
``columns`` defaults to ``ceil(sqrt(n))`` (and is capped at ``n``), rows follow;
every cell has the size of the largest image (or ``cell``); ``padding`` pixels of
``background`` surround every cell, the outer border included, so the sheet is
``columns * (cell_w + padding) + padding`` wide. Images smaller than the cell are
centred in it, never scaled up; with an explicit ``cell`` larger ones are shrunk to fit.

The output mode follows the inputs and the background: ``RGBA`` when the background
has alpha below 255 (images are pasted as they are, so their alpha is kept),
``L`` when every image is greyscale and the background is an opaque grey, else
``RGB`` (images with alpha are composited onto the background).

Only Pillow is imported at module level; numpy is imported inside
:func:`grid_from_array`, and :mod:`artkit.images` inside :func:`save_contact_sheet`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from artkit.errors import ImageError, UsageError
from artkit.images import has_alpha

__all__ = ["grid_from_array", "make_grid", "save_contact_sheet"]

Color = int | str | tuple[int, ...]

_GREY_MODES = frozenset({"L", "1"})
_LABEL_GAP = 2  # pixels between a cell and its label


# --------------------------------------------------------------------------- helpers


def _background(background: Color) -> tuple[int, int, int, int]:
    """Any colour spelling -> an RGBA tuple; a bad one is a UsageError."""
    try:
        if isinstance(background, str):
            rgba = ImageColor.getcolor(background, "RGBA")
        elif isinstance(background, int):
            rgba = (background, background, background, 255)
        else:
            values = tuple(int(c) for c in background)
            if len(values) == 1:
                values = values * 3
            if len(values) not in (3, 4):
                raise ValueError("expected 3 or 4 components")
            rgba = values if len(values) == 4 else (*values, 255)
        if not all(0 <= c <= 255 for c in rgba):
            raise ValueError("components must be 0..255")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid background colour {background!r}: {exc}") from None
    return tuple(rgba)  # type: ignore[return-value]


def _output_mode(all_grey: bool, bg: tuple[int, int, int, int]) -> str:
    if bg[3] < 255:
        return "RGBA"
    if all_grey and bg[0] == bg[1] == bg[2]:
        return "L"
    return "RGB"


def _fill(mode: str, bg: tuple[int, int, int, int]) -> int | tuple[int, ...]:
    return {"L": bg[0], "RGB": bg[:3], "RGBA": bg}[mode]


def _check_layout(n: int, columns: int | None, padding: int) -> tuple[int, int]:
    if n == 0:
        raise UsageError("cannot make a grid of no images")
    if columns is None:
        columns = math.ceil(math.sqrt(n))
    elif isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise UsageError(f"grid columns must be a whole number >= 1, not {columns!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise UsageError(f"grid padding must be a whole number >= 0, not {padding!r}")
    columns = min(columns, n)
    return columns, math.ceil(n / columns)


def _label_font(cell_w: int) -> Any:
    size = max(8, min(14, cell_w // 8))
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """``text`` shortened with '...' until it fits ``width`` pixels (may become '')."""
    text = " ".join(str(text).split())
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..." if text else ""


# --------------------------------------------------------------------------- builders


def make_grid(
    images: Sequence[Image.Image],
    *,
    columns: int | None = None,
    padding: int = 2,
    background: Color = (255, 255, 255),
    labels: Sequence[str] | None = None,
    cell: tuple[int, int] | None = None,
) -> Image.Image:
    """Lay ``images`` out row by row on one sheet (see the module docstring for layout).

    ``labels`` (one string per image) are written in a small band under each cell
    with Pillow's default font, shortened with ``...`` when too wide; black on a light
    background, white on a dark one. ``background`` is an RGB(A) tuple, a grey
    level or a Pillow colour name. Raises :class:`UsageError` for no images, a
    wrong number of labels, or bad ``columns`` / ``padding`` / ``cell`` / colour.
    """
    images = list(images)
    columns, rows = _check_layout(len(images), columns, padding)
    if not all(isinstance(im, Image.Image) for im in images):
        raise UsageError("make_grid needs PIL images; use grid_from_array for arrays")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(images):
            raise UsageError(f"got {len(labels)} labels for {len(images)} images")
    bg = _background(background)
    mode = _output_mode(all(im.mode in _GREY_MODES for im in images), bg)

    if cell is None:
        cell_w = max(im.width for im in images)
        cell_h = max(im.height for im in images)
    else:
        try:
            cell_w, cell_h = (int(v) for v in cell)
        except (TypeError, ValueError):
            raise UsageError(f"grid cell must be (width, height), not {cell!r}") from None
        if cell_w < 1 or cell_h < 1:
            raise UsageError(f"grid cell must be at least 1x1, not {cell_w}x{cell_h}")

    font = band = None
    if labels is not None:
        font = _label_font(cell_w)
        band = _LABEL_GAP + font.getbbox("Ag")[3] + 1

    step_w, step_h = cell_w + padding, cell_h + (band or 0) + padding
    sheet = Image.new(mode, (columns * step_w + padding, rows * step_h + padding), _fill(mode, bg))
    for index, im in enumerate(images):
        if im.width > cell_w or im.height > cell_h:
            im = ImageOps.contain(im, (cell_w, cell_h), Image.Resampling.LANCZOS)
        x = padding + (index % columns) * step_w + (cell_w - im.width) // 2
        y = padding + (index // columns) * step_h + (cell_h - im.height) // 2
        if mode == "RGBA":
            sheet.paste(im.convert("RGBA"), (x, y))  # keep the image's own alpha
        elif has_alpha(im):
            rgba = im.convert("RGBA")
            sheet.paste(rgba.convert(mode), (x, y), rgba.getchannel("A"))
        else:
            sheet.paste(im.convert(mode), (x, y))

    if labels is not None:
        draw = ImageDraw.Draw(sheet)
        light = (bg[0] * 299 + bg[1] * 587 + bg[2] * 114) / 1000 >= 128 or bg[3] < 128
        ink = 0 if light else 255
        fill = {"L": ink, "RGB": (ink,) * 3, "RGBA": (ink, ink, ink, 255)}[mode]
        for index, label in enumerate(labels):
            text = _fit_text(draw, label, font, cell_w)
            if not text:
                continue
            x = padding + (index % columns) * step_w
            x += (cell_w - int(draw.textlength(text, font=font))) // 2
            y = padding + (index // columns) * step_h + cell_h + _LABEL_GAP
            draw.text((x, y), text, fill=fill, font=font)
    return sheet


def grid_from_array(
    array: Any,
    columns: int | None = None,
    padding: int = 2,
    *,
    background: Color = (255, 255, 255),
) -> Image.Image:
    """The fast path for training sample grids: a uint8 array -> one sheet.

    ``array`` is ``(N, H, W, C)`` with ``C`` in 1, 3, 4 (or ``(N, H, W)`` for grey),
    dtype uint8. The sheet is assembled in numpy and converted with a single
    ``Image.fromarray``; its pixels equal ``make_grid`` on the same images with the
    same ``columns``, ``padding`` and ``background``.
    """
    import numpy as np

    arr = np.asarray(array)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise UsageError(
            f"grid_from_array needs an (N, H, W, C) array with C in 1, 3, 4; got shape {arr.shape}"
        )
    if arr.dtype != np.uint8:
        raise UsageError(f"grid_from_array needs a uint8 array, not {arr.dtype}")
    n, h, w, c = arr.shape
    columns, rows = _check_layout(n, columns, padding)
    if h == 0 or w == 0:
        raise UsageError(f"grid_from_array got empty images ({w}x{h})")
    bg = _background(background)
    mode = _output_mode(c == 1, bg)
    fill = np.asarray(_fill(mode, bg), dtype=np.uint8).reshape(-1)
    out_c = fill.size

    # Convert the images to the output's channels.
    if mode == "L":
        cells = arr
    elif mode == "RGBA":
        rgb = np.repeat(arr, 3, axis=-1) if c == 1 else arr[..., :3]
        alpha = arr[..., 3:] if c == 4 else np.full((n, h, w, 1), 255, np.uint8)
        cells = np.concatenate([rgb, alpha], axis=-1)
    elif c == 4:
        # Composite onto the background exactly as Pillow's masked paste does:
        # DIV255(src * a + bg * (255 - a)) with DIV255(v) = ((v + 128) >> 8 + v + 128) >> 8.
        a = arr[..., 3:].astype(np.uint32)
        v = arr[..., :3].astype(np.uint32) * a + fill.astype(np.uint32) * (255 - a) + 128
        cells = ((v + (v >> 8)) >> 8).astype(np.uint8)
    else:
        cells = np.repeat(arr, 3, axis=-1) if c == 1 else arr

    # Every cell plus its right/bottom padding, in a (rows, columns) block, then the
    # outer top/left border.
    tiles = np.empty((rows * columns, h + padding, w + padding, out_c), np.uint8)
    tiles[...] = fill
    tiles[:n, :h, :w] = cells.reshape(n, h, w, out_c)
    body = tiles.reshape(rows, columns, h + padding, w + padding, out_c).transpose(0, 2, 1, 3, 4)
    body = body.reshape(rows * (h + padding), columns * (w + padding), out_c)
    sheet = np.empty((body.shape[0] + padding, body.shape[1] + padding, out_c), np.uint8)
    sheet[...] = fill
    sheet[padding:, padding:] = body
    return Image.fromarray(sheet[..., 0] if mode == "L" else sheet, mode)


# --------------------------------------------------------------------------- files


def _load(path: str | os.PathLike[str]) -> Image.Image:
    """Read one image as RGB; artkit.images when it is there, else plain Pillow."""
    try:
        from artkit.images import load_image
    except ImportError:
        load_image = None
    if load_image is not None:
        return load_image(path, mode="RGB")
    name = os.fspath(path)
    try:
        with Image.open(name) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if has_alpha(im):
                rgba = im.convert("RGBA")
                flat = Image.new("RGB", im.size, (255, 255, 255))
                flat.paste(rgba.convert("RGB"), (0, 0), rgba.getchannel("A"))
                return flat
            return im.convert("RGB")
    except Exception as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImageError(f"cannot read image {name!r}: {why}") from None


def _save(sheet: Image.Image, path: Path, provenance: dict[str, Any] | None) -> Path:
    """Write atomically; artkit.images.save_image when it is there, else plain Pillow."""
    try:
        from artkit.images import save_image
    except ImportError:
        save_image = None
    if save_image is not None:
        return save_image(sheet, path, provenance=provenance)

    import json

    from PIL import PngImagePlugin

    from artkit.atomic import atomic_open

    formats = {".png": "PNG", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG"}
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot save image {str(path)!r}: use .png, .webp or .jpg")
    params: dict[str, Any] = {}
    if provenance is not None and fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("artkit", json.dumps(provenance, sort_keys=True, separators=(",", ":")))
        params["pnginfo"] = info
    if fmt == "JPEG" and sheet.mode == "RGBA":
        sheet = sheet.convert("RGB")
    try:
        with atomic_open(path) as handle:
            sheet.save(handle, format=fmt, **params)
    except OSError as exc:
        raise ImageError(f"cannot write image {str(path)!r}: {exc}") from None
    return path


def _thumb_box(thumb: int | tuple[int, int]) -> tuple[int, int]:
    try:
        box = (thumb, thumb) if isinstance(thumb, int) else tuple(int(v) for v in thumb)
    except (TypeError, ValueError):
        box = ()
    if len(box) != 2 or min(box) < 1:
        raise UsageError(f"thumb must be a size >= 1 or (width, height), not {thumb!r}")
    return box  # type: ignore[return-value]


def save_contact_sheet(
    paths: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    columns: int | None = None,
    thumb: int | tuple[int, int] | None = None,
    labels: bool | Sequence[str] = True,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Read image files, lay them out with :func:`make_grid`, write the sheet atomically.

    ``thumb`` (a side or ``(width, height)``) shrinks each picture to fit, keeping
    its aspect ratio, as soon as it is read, so long lists stay light on memory.
    ``labels=True`` writes each file's stem under it; a sequence gives the labels.
    The format follows ``out_path``'s suffix (PNG, WebP or JPEG); ``provenance`` is
    stored as with :func:`artkit.images.save_image`. Returns the written path.
    """
    paths = list(paths)
    if not paths:
        raise UsageError("no images given for the contact sheet")
    box = None if thumb is None else _thumb_box(thumb)
    images = []
    for path in paths:
        im = _load(path)
        if box is not None:
            im.thumbnail(box, Image.Resampling.LANCZOS)
        images.append(im)
    if labels is True:
        names: list[str] | None = [Path(p).stem for p in paths]
    elif labels is False or labels is None:
        names = None
    else:
        names = [str(label) for label in labels]
    sheet = make_grid(images, columns=columns, labels=names)
    return Path(_save(sheet, Path(out_path), provenance))
