"""Image files in and out: safe decoding, atomic writes, and provenance metadata.

Every command that reads or writes pictures goes through this module, so that

* reading is uniform: EXIF orientation applied, palette / 16-bit / CMYK / greyscale
  images converted to a predictable 8-bit mode, Pillow's decompression-bomb guard kept,
  and every failure reported as a one-line :class:`~artkit.errors.ImageError` that
  names the file;
* writing is safe: a temp file beside the target, fsync, then an atomic rename, so a
  crash or a full disk never leaves a half-written image under the real name;
* every image remembers how it was made (DESIGN.md principle 6): a provenance dict is
  stored as compact JSON in a PNG ``iTXt`` chunk with key ``artkit``, or for WebP and
  JPEG in an XMP packet as ``<artkit:provenance>`` in the namespace
  ``https://artkit.dev/ns/1.0/``. :func:`read_provenance` gets it back without torch.

Public API::

    load_image(path, *, mode="RGB", background=(255, 255, 255)) -> PIL.Image.Image
    save_image(image, path, *, provenance=None, format=None, quality=95) -> Path
    read_provenance(path_or_image) -> dict | None
    image_info(path) -> dict
    IMAGE_SUFFIXES, SAVE_SUFFIXES, is_image_path(path), format_for_path(path)

Only Pillow is imported at module level; numpy is imported inside the one function
that needs it (16-bit scaling), so ``artkit info`` stays fast.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageColor, ImageOps, UnidentifiedImageError

from artkit.atomic import atomic_open
from artkit.errors import ArtkitError, ImageError, UsageError

__all__ = [
    "IMAGE_SUFFIXES",
    "PROVENANCE_KEY",
    "SAVE_SUFFIXES",
    "XMP_NAMESPACE",
    "format_for_path",
    "image_info",
    "is_image_path",
    "load_image",
    "read_provenance",
    "save_image",
]

#: Suffixes (lower case) that commands treat as images when expanding directories.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")

#: Suffixes :func:`save_image` can write, and the Pillow format each one means.
SAVE_SUFFIXES = {".png": "PNG", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG"}

#: PNG text key that holds the provenance JSON.
PROVENANCE_KEY = "artkit"

#: XML namespace of the ``<artkit:provenance>`` element in WebP / JPEG XMP packets.
XMP_NAMESPACE = "https://artkit.dev/ns/1.0/"

_XMP_TAG = f"{{{XMP_NAMESPACE}}}provenance"

# A minimal, standard-shaped XMP packet (exiftool and image viewers read it). The
# provenance JSON is the XML-escaped text of one simple property.
_XMP_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    f'<rdf:Description rdf:about="" xmlns:artkit="{XMP_NAMESPACE}">'
    "<artkit:provenance>{}</artkit:provenance>"
    "</rdf:Description>"
    "</rdf:RDF>"
    "</x:xmpmeta>"
    '<?xpacket end="w"?>'
)

#: the most provenance text (PNG iTXt or XMP packet) artkit reads from a file; its own
#: is a few KB, and a bounded size keeps parsing someone else's file bounded too
MAX_PROVENANCE_BYTES = 1 << 20

# Characters that may not appear literally in XML 1.0 or cannot be encoded as UTF-8
# (lone surrogates). Inside JSON strings any character may be written as \uXXXX, and
# json.dumps already escapes control characters, so re-escaping these keeps the JSON
# equal while making it safe for both PNG iTXt (UTF-8) and XMP (XML).
_UNSAFE_CHARS = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")

# Largest XMP payload a JPEG APP1 segment can hold (65533 minus the 29-byte XMP header).
_JPEG_MAX_XMP = 65504
_MAX_SIDE = {"JPEG": 65500, "WEBP": 16383}

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
_LOAD_MODES = ("L", "RGB", "RGBA")

Color = tuple[int, int, int] | tuple[int, int, int, int] | str


# --------------------------------------------------------------------------- helpers


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` has one of :data:`IMAGE_SUFFIXES` (case-insensitive).

    Looks at the name only; the file need not exist.
    """
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_SUFFIXES


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The Pillow format ``"PNG"``, ``"WEBP"`` or ``"JPEG"`` that ``path``'s suffix asks for.

    Raises :class:`UsageError` for any other suffix: those are the formats artkit
    writes, because they are the ones that can carry provenance.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return SAVE_SUFFIXES[suffix]
    except KeyError:
        what = f"format {suffix!r}" if suffix else "format (no file suffix)"
        raise UsageError(
            f"cannot save image {os.fspath(path)!r}: unsupported {what}; use .png, .webp or .jpg"
        ) from None


def _normalize_format(fmt: str) -> str:
    upper = fmt.strip().upper().lstrip(".")
    upper = "JPEG" if upper == "JPG" else upper
    if upper not in SAVE_SUFFIXES.values():
        raise UsageError(f"unsupported image format {fmt!r}; use png, webp or jpeg")
    return upper


@contextlib.contextmanager
def _bomb_guard() -> Iterator[None]:
    # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; artkit refuses both,
    # so an oversized file is a clean error rather than a stray warning on stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _read_error(name: str, exc: BaseException) -> ImageError:
    """Turn whatever Pillow or the OS raised into one line that names the file."""
    if isinstance(exc, FileNotFoundError):
        why = "no such file"
    elif isinstance(exc, IsADirectoryError):
        why = "is a directory"
    elif isinstance(exc, PermissionError):
        why = "permission denied"
    elif isinstance(exc, UnidentifiedImageError):
        why = "not an image file (or not a format Pillow can read)"
    elif isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found[1]):,} pixels, " if found else ""
        why = (
            f"too large to decode safely ({size}limit {Image.MAX_IMAGE_PIXELS:,} "
            "set by PIL.Image.MAX_IMAGE_PIXELS against decompression bombs)"
        )
    elif isinstance(exc, OSError) and exc.strerror:
        why = exc.strerror[:1].lower() + exc.strerror[1:]
    elif "truncated" in str(exc):
        why = "the file is truncated or corrupt"
    else:
        detail = str(exc).strip() or type(exc).__name__
        why = f"corrupt or unsupported image ({detail})"
    return ImageError(f"cannot read image {name!r}: {why}")


def _rgba(background: Color) -> tuple[int, int, int, int]:
    try:
        if isinstance(background, str):
            r, g, b, _ = ImageColor.getcolor(background, "RGBA")
        else:
            r, g, b = (int(c) for c in background[:3])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"invalid background colour {background!r}: {exc}") from None
    return (r, g, b, 255)


def _composite(im: Image.Image, background: Color) -> Image.Image:
    """Flatten an image with alpha onto an opaque ``background``; returns RGB."""
    base = Image.new("RGBA", im.size, _rgba(background))
    base.alpha_composite(im.convert("RGBA"))
    return base.convert("RGB")


def has_alpha(im: Image.Image) -> bool:
    """Whether ``im`` has any transparency: an alpha band, or transparent colours.

    Alpha bands are the modes RGBA, LA, PA (and premultiplied RGBa, La). Palette,
    greyscale and RGB PNGs can instead mark a colour transparent (tRNS chunk), and
    GIFs a palette entry, which Pillow reports as ``info["transparency"]``; such an
    image converts to RGBA with that transparency, so it counts too.
    """
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def _sixteen_to_8bit(im: Image.Image) -> Image.Image:
    """Scale 16-bit (or 32-bit integer) greyscale to 8-bit L, keeping the full range.

    Pillow's own ``convert("L")`` clips at 255, which turns most 16-bit images white;
    dividing by 257 maps 0..65535 exactly onto 0..255 (round to nearest). Mode ``I``
    values outside 0..65535 are clipped.
    """
    import numpy as np

    values = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
    # (v + 128) // 257 == round(v / 257): 257 is odd, so there are no ties to break.
    return Image.fromarray(((values + 128) // 257).astype(np.uint8))


def _to_8bit(im: Image.Image) -> Image.Image:
    """Convert any mode Pillow decodes into the closest of L, RGB or RGBA."""
    if im.mode in _LOAD_MODES and not has_alpha(im):
        return im
    if im.mode.startswith("I"):  # I, I;16, I;16B, I;16L, I;16N
        return _sixteen_to_8bit(im)
    if has_alpha(im):
        return im.convert("RGBA")
    if im.mode in ("1", "F"):
        return im.convert("L")
    return im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX, ...


def _open_decoded(name: str) -> Image.Image:
    """Open and fully decode ``name``; any failure becomes an ImageError."""
    try:
        with _bomb_guard(), Image.open(name) as im:
            # Decode everything here so truncation and corrupt data surface now, as
            # an ImageError naming the file, and not later in some unrelated code.
            im.load()
    except ArtkitError:
        raise
    except Exception as exc:
        # Decoders raise a zoo of types for bad input (OSError, SyntaxError,
        # ValueError, struct.error, zlib.error, ...): all are the file's fault.
        raise _read_error(name, exc) from None
    return im


# --------------------------------------------------------------------------- reading


def load_image(
    path: str | os.PathLike[str],
    *,
    mode: str | None = "RGB",
    background: Color = (255, 255, 255),
) -> Image.Image:
    """Read an image file into memory as an 8-bit ``L``, ``RGB`` or ``RGBA`` image.

    - EXIF orientation is applied (a portrait phone photo comes out portrait).
    - Palette images with transparency, ``LA`` and tRNS-keyed images become ``RGBA``;
      16-bit / 32-bit integer greyscale is scaled to 8-bit (divide by 257, not clip);
      CMYK, YCbCr and friends become ``RGB``; bilevel becomes ``L``.
    - ``mode`` picks the result: ``"L"``, ``"RGB"`` (default) or ``"RGBA"``; ``None``
      keeps the natural one of the three. Dropping alpha composites the image onto
      ``background`` (an RGB tuple or a Pillow colour name; default white).
    - Animated files give their first frame.
    - The returned image is detached from the file (which is closed) and keeps the
      file's ``info`` dict, so ``read_provenance(load_image(p))`` works for PNG.

    Raises :class:`ImageError` naming ``path`` for a missing file, a directory, a
    non-image, a truncated or corrupt image, or one larger than
    ``PIL.Image.MAX_IMAGE_PIXELS`` (Pillow's decompression-bomb guard, kept on).
    Raises :class:`UsageError` for an unknown ``mode``.
    """
    if mode is not None and mode not in _LOAD_MODES:
        raise UsageError(f"unsupported image mode {mode!r}; use L, RGB or RGBA")
    name = os.fspath(path)
    decoded = _open_decoded(name)
    info = dict(decoded.info)
    try:
        im = ImageOps.exif_transpose(decoded)
    except Exception:
        # Orientation is advisory: malformed EXIF should not make a good picture
        # unreadable, so fall back to the pixels as stored.
        im = decoded
    im = _to_8bit(im)
    if mode == "RGBA":
        im = im.convert("RGBA")
    elif mode is not None:
        if im.mode == "RGBA":
            im = _composite(im, background)
        if im.mode != mode:
            im = im.convert(mode)
    if im is decoded:
        im = decoded.copy()
    # Transparency is now resolved into an alpha band (or composited away); a stale
    # "transparency" entry would make Pillow write a bogus tRNS chunk on save.
    info.pop("transparency", None)
    im.info = info
    return im


def _dumps(provenance: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, compact, safe for UTF-8 and XML 1.0."""
    if not isinstance(provenance, dict):
        raise TypeError(f"provenance must be a dict, not {type(provenance).__name__}")
    text = json.dumps(provenance, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _UNSAFE_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _xml_escape(text: str) -> str:
    # Hand-rolled: xml.sax.saxutils would pull in urllib and http (~15 ms at start-up).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xmp_packet(provenance: dict[str, Any]) -> bytes:
    return _XMP_TEMPLATE.format(_xml_escape(_dumps(provenance))).encode("utf-8")


def _provenance_text_from_xmp(xmp: bytes | str) -> str | None:
    """The raw provenance JSON inside an XMP packet, or None when there is none."""
    import xml.etree.ElementTree as ET  # only images that carry XMP pay for the parser

    data = xmp.encode("utf-8", "surrogateescape") if isinstance(xmp, str) else bytes(xmp)
    if len(data) > 4 * MAX_PROVENANCE_BYTES:
        return None  # no artkit packet is this large: not ours, and not worth parsing
    data = data.strip(b"\x00 \t\r\n")
    if b"provenance" not in data:
        return None
    # artkit never writes a DTD; refusing one keeps entity tricks out of the parser.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        # Another tool may have left the packet malformed; the element is simple
        # enough to find by scanning, then undo the XML escaping.
        body = _scan_provenance_element(data.decode("utf-8", "replace"))
        return html.unescape(body) if body is not None else None
    for element in root.iter():
        if element.tag == _XMP_TAG:
            return element.text or ""
        # RDF allows a simple property as an attribute of rdf:Description; editors
        # such as exiftool may rewrite the packet that way.
        if _XMP_TAG in element.attrib:
            return element.attrib[_XMP_TAG]
    return None


def _scan_provenance_element(text: str) -> str | None:
    """The body of the first ``<P:provenance ...>...</P:provenance>`` in ``text``, or None.

    Linear time whatever the input (a regular expression with a lazy body and a
    back-reference was quadratic on a packet of repeated start tags): find a start
    tag, then search once for its end tag.
    """
    start = 0
    while (colon := text.find(":provenance", start)) >= 0:
        start = colon + 1
        lt = text.rfind("<", max(0, colon - 64), colon)
        prefix = text[lt + 1 : colon] if lt >= 0 else ""
        if not prefix or not all(ch.isalnum() or ch in "_.-" for ch in prefix):
            continue
        gt = text.find(">", colon)
        if gt < 0:
            return None
        end = text.find(f"</{prefix}:provenance", gt)
        return text[gt + 1 : end] if end >= 0 else None
    return None


def _provenance_from(im: Image.Image, name: str) -> dict[str, Any] | None:
    raw = im.info.get(PROVENANCE_KEY)
    if raw is None and im.format == "PNG" and hasattr(type(im), "text"):
        # Text chunks written after the pixel data only appear once the image is
        # loaded; artkit writes its chunk before, so this path is for other tools.
        raw = im.text.get(PROVENANCE_KEY)
    if raw is None:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        if xmp:
            raw = _provenance_text_from_xmp(xmp)
    if raw is None and im.format == "GIF":
        # artkit's animations keep it in the GIF comment, which other tools also use
        # for their own words: only a JSON object there counts as provenance
        return _json_object_or_none(im.info.get("comment"))
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if len(raw) > MAX_PROVENANCE_BYTES:
        raise ImageError(
            f"image {name!r} has corrupt artkit provenance: larger than {MAX_PROVENANCE_BYTES:,} bytes"
        )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ImageError(
            f"image {name!r} has corrupt artkit provenance: JSON nested too deeply"
        ) from None
    except ValueError as exc:
        raise ImageError(
            f"image {name!r} has corrupt artkit provenance: invalid JSON ({exc})"
        ) from None
    if not isinstance(value, dict):
        raise ImageError(
            f"image {name!r} has corrupt artkit provenance: expected a JSON object, "
            f"got {type(value).__name__}"
        )
    return value


def _json_object_or_none(raw: Any) -> dict[str, Any] | None:
    """``raw`` (text or bytes) as a JSON object, or None when it is anything else."""
    if not raw or len(raw) > MAX_PROVENANCE_BYTES:
        return None
    try:
        value = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_provenance(path_or_image: str | os.PathLike[str] | Image.Image) -> dict[str, Any] | None:
    """The provenance dict stored by :func:`save_image`, or None when there is none.

    Accepts a path or an already opened / loaded Pillow image. Reads PNG text chunks
    (key ``artkit``) and XMP packets (WebP, JPEG, PNG) without decoding pixels when
    it can. Raises :class:`ImageError` when the file is not a readable image, or when
    its artkit provenance is present but not a JSON object.
    """
    if isinstance(path_or_image, Image.Image):
        name = getattr(path_or_image, "filename", "") or "<image>"
        return _provenance_from(path_or_image, str(name))
    name = os.fspath(path_or_image)
    try:
        with _bomb_guard(), Image.open(name) as im:
            return _provenance_from(im, name)
    except ArtkitError:
        raise
    except Exception as exc:
        raise _read_error(name, exc) from None


def image_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``artkit info IMG`` shows: a JSON-able dict describing an image file.

    Keys: ``path``, ``format`` (Pillow's name, e.g. ``"PNG"``), ``width`` and
    ``height`` (as displayed, i.e. after EXIF orientation, matching
    :func:`load_image`), ``mode`` (as stored, e.g. ``"I;16"``), ``frames``, and
    ``provenance`` (a dict or None). Pixels are not decoded unless a PNG keeps its
    text after the image data. Raises :class:`ImageError` like :func:`read_provenance`.
    """
    name = os.fspath(path)
    try:
        with _bomb_guard(), Image.open(name) as im:
            width, height = im.size
            try:
                orientation = im.getexif().get(0x0112)
            except Exception:  # malformed EXIF: report the stored size
                orientation = None
            if orientation in (5, 6, 7, 8):  # the four orientations that turn 90°
                width, height = height, width
            return {
                "path": name,
                "format": im.format,
                "width": width,
                "height": height,
                "mode": im.mode,
                "frames": int(getattr(im, "n_frames", 1)),
                "provenance": _provenance_from(im, name),
            }
    except ArtkitError:
        raise
    except Exception as exc:
        raise _read_error(name, exc) from None


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None], *, durable: bool = True) -> None:
    """Write via ``write(fp)`` with :func:`artkit.atomic.atomic_open` (temp file, rename).

    The temp name is hidden (``.name.tmp-<pid>-<random>``) and created exclusively;
    on any failure it is removed and the previous file at ``path`` stays intact.
    ``durable=False`` skips fsync (bulk output: sample, render).
    """
    with atomic_open(path, durable=durable) as fp:
        write(fp)


def _prepare_for(im: Image.Image, fmt: str) -> Image.Image:
    """Convert ``im`` to a mode ``fmt`` can store."""
    if fmt == "PNG":
        return im if im.mode in _PNG_MODES else _to_8bit(im)
    im = _to_8bit(im)
    if fmt == "JPEG":
        # JPEG has no alpha: flatten onto white, as a viewer would show it.
        return _composite(im, (255, 255, 255)) if im.mode == "RGBA" else im
    return im.convert("RGB") if im.mode == "L" else im  # WEBP: RGB or RGBA


def save_image(
    image: Image.Image,
    path: str | os.PathLike[str],
    *,
    provenance: dict[str, Any] | None = None,
    format: str | None = None,
    quality: int = 95,
    durable: bool = True,
) -> Path:
    """Write ``image`` atomically to ``path`` with optional provenance; return the Path.

    - ``format`` is ``"png"``, ``"webp"`` or ``"jpeg"``/``"jpg"`` (any case), or by
      default taken from the suffix; anything else is a :class:`UsageError`.
    - ``quality`` (0-100) applies to WebP and JPEG; PNG is lossless.
    - ``provenance`` is stored as canonical JSON (sorted keys, compact): a PNG
      ``iTXt`` chunk with key ``artkit``, or an XMP packet for WebP / JPEG (JPEG XMP
      is limited to 65504 bytes; larger provenance is an ImageError: use PNG).
    - The image is converted as the format needs: JPEG flattens alpha onto white,
      WebP stores RGB or RGBA, PNG keeps L/LA/P/RGB/RGBA/16-bit as they are.
    - PNG output is deterministic: the same pixels, mode, ICC profile and provenance
      give byte-identical files (no timestamps are written).
    - Parent directories are created. The write is atomic (see :func:`_atomic_write`;
      ``durable=False`` skips fsync for bulk output):
      on failure no temp file is left and an existing file at ``path`` is untouched.

    Raises :class:`ImageError` (one line, naming ``path``) when the file cannot be
    written, and :class:`UsageError` for an unsupported format or quality.
    """
    target = Path(path)
    name = os.fspath(path)
    fmt = _normalize_format(format) if format is not None else format_for_path(target)
    kwargs: dict[str, Any] = {}
    if fmt in ("WEBP", "JPEG"):
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise UsageError(f"image quality must be an integer from 0 to 100, got {quality!r}")
        kwargs["quality"] = quality
    if provenance is not None:
        if fmt == "PNG":
            from PIL import PngImagePlugin  # loaded by Pillow on first use anyway

            info = PngImagePlugin.PngInfo()
            info.add_itxt(PROVENANCE_KEY, _dumps(provenance))
            kwargs["pnginfo"] = info
        else:
            kwargs["xmp"] = _xmp_packet(provenance)
            if fmt == "JPEG" and len(kwargs["xmp"]) > _JPEG_MAX_XMP:
                raise ImageError(
                    f"cannot write image {name!r}: provenance is {len(kwargs['xmp'])} bytes, "
                    f"more than JPEG's XMP limit of {_JPEG_MAX_XMP}; save as .png instead"
                )
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(image.size) > limit:
        # Checked here because libjpeg prints its complaint to stderr before failing.
        raise ImageError(
            f"cannot write image {name!r}: {image.width}x{image.height} is too large "
            f"for {fmt} (at most {limit} pixels a side); save as .png instead"
        )
    prepared = _prepare_for(image, fmt)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, lambda fp: prepared.save(fp, format=fmt, **kwargs), durable=durable)
    except ArtkitError:
        raise
    except (OSError, ValueError, TypeError, SyntaxError) as exc:
        if isinstance(exc, OSError) and exc.strerror:
            why = exc.strerror[:1].lower() + exc.strerror[1:]
        else:
            why = str(exc).strip() or type(exc).__name__
        raise ImageError(f"cannot write image {name!r}: {why}") from None
    return target
