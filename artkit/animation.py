"""Animations (latent walks, training timelapses) written as GIF, WebP, APNG or MP4.

Public API::

    write_animation(frames, path, *, fps=24, loop=True, provenance=None) -> Path
    read_frames(path) -> list[PIL.Image.Image]
    ping_pong(frames) -> list

The format follows the suffix of ``path``:

* ``.gif``  -- Pillow; per-frame palettes, ``disposal=2``, ``optimize``. GIF stores
  delays in 1/100 s and browsers slow delays under 2/100 s down to 1/10 s, so GIF
  timing is rounded to 10 ms (spread so the total stays right) and capped at 50 fps.
  GIF transparency is 1-bit: frames whose alpha is only ever 0 or 255 keep it, any
  other alpha is composited onto white. Provenance goes in a GIF comment.
* ``.webp`` -- animated WebP, lossy quality 90, lossless for small frames (at most
  128x128 pixels); provenance as an XMP packet (Pillow >= 9.x writes it, older ones
  silently drop it).
* ``.png``  -- APNG; provenance in an ``iTXt`` chunk with key ``artkit``.
* ``.mp4``  -- H.264 through the optional ``imageio-ffmpeg`` package; odd sizes are
  padded by one edge pixel (yuv420p needs even sides); ``loop`` does not apply.

Provenance is stored the way :mod:`artkit.images` stores it (canonical JSON in PNG
text / WebP XMP), so ``artkit.images.read_provenance`` reads PNG and WebP animations.

Writes are atomic: the file is written under a temporary name beside the target and
renamed over it, so a reader never sees half an animation. Pillow merges consecutive
*identical* frames in GIF and APNG (adding their durations), so reading such a file
back can give fewer frames than were written; the timing is unchanged.

Only Pillow is imported at module level; imageio-ffmpeg is imported when needed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from PIL import Image, ImageSequence, PngImagePlugin

from artkit.atomic import atomic_open
from artkit.errors import ArtkitError, ImageError, UsageError
from artkit.images import has_alpha

__all__ = ["SUPPORTED_SUFFIXES", "ping_pong", "read_frames", "write_animation"]

#: Suffixes :func:`write_animation` understands, and what each one writes.
SUPPORTED_SUFFIXES = {
    ".gif": "GIF",
    ".webp": "WEBP",
    ".png": "PNG",  # APNG
    ".mp4": "MP4",
}

MP4_MISSING = (
    "mp4 needs the optional imageio-ffmpeg package: pip install 'artkit[video]' "
    "(or write .gif, .webp or .png)"
)


def require_ffmpeg():
    """imageio_ffmpeg, or a one-line UsageError (also when ARTKIT_SYSTEM_ASSETS=none hides it)."""
    from artkit import assets

    if assets.hidden():
        raise UsageError(MP4_MISSING + assets.hidden_note())
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UsageError(MP4_MISSING) from None
    return imageio_ffmpeg


_WEBP_LOSSLESS_PIXELS = 128 * 128
_GIF_MIN_DELAY_MS = 20  # browsers treat 0/10 ms GIF delays as 100 ms
_TRANSPARENT_INDEX = 255

_XMP_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:artkit="https://artkit.dev/ns/1.0/">'
    "<artkit:provenance>{}</artkit:provenance>"
    "</rdf:Description>"
    "</rdf:RDF>"
    "</x:xmpmeta>"
    '<?xpacket end="w"?>'
)


# --------------------------------------------------------------------------- helpers


def ping_pong(frames: Iterable[Any]) -> list[Any]:
    """``frames`` forwards then backwards without repeating the ends: a b c d -> a b c d c b.

    Played in a loop this goes back and forth smoothly (no frame is shown twice in a
    row). Works for any items, not only images.
    """
    frames = list(frames)
    return frames + frames[-2:0:-1]


def _provenance_json(provenance: dict[str, Any]) -> str:
    if not isinstance(provenance, dict):
        raise TypeError(f"provenance must be a dict, not {type(provenance).__name__}")
    # ensure_ascii keeps the text valid in XML, PNG iTXt and GIF comments alike.
    return json.dumps(provenance, sort_keys=True, separators=(",", ":"))


def _durations(n: int, fps: float, quantum: int = 1, minimum: int = 1) -> list[int]:
    """Per-frame durations in ms, multiples of ``quantum``, summing to about n / fps s.

    Rounding the running total rather than each frame keeps the average frame rate
    exact (24 fps in GIF alternates 40 and 50 ms instead of drifting at 40 ms).
    """
    step = 1000.0 / fps
    if step < minimum:
        return [minimum] * n
    ends = [round((i + 1) * step / quantum) * quantum for i in range(n)]
    starts = [0, *ends[:-1]]
    return [max(minimum, end - start) for start, end in zip(starts, ends, strict=True)]


def _as_image(frame: Any, index: int) -> Image.Image:
    if isinstance(frame, Image.Image):
        return frame
    try:
        return Image.fromarray(frame)  # numpy arrays and anything with __array_interface__
    except Exception:
        raise UsageError(
            f"animation frame {index} is a {type(frame).__name__}, not an image"
        ) from None


def _normalize(frames: list[Image.Image]) -> list[Image.Image]:
    """Fresh copies in one common mode (L, RGB or RGBA) with no inherited ``info``.

    Stale ``info`` (a ``loop`` or ``duration`` from a file the frames came from)
    would otherwise override what :func:`write_animation` was asked for.
    """
    if any(has_alpha(im) for im in frames):
        mode = "RGBA"
    elif all(im.mode in ("L", "1") for im in frames):
        mode = "L"
    else:
        mode = "RGB"
    out = []
    for im in frames:
        im = im.convert(mode) if im.mode != mode else im.copy()
        im.info = {}
        out.append(im)
    if mode == "RGBA" and all(im.getextrema()[3] == (255, 255) for im in out):
        out = [im.convert("RGB") for im in out]  # alpha band present but unused
    return out


def _binary_alpha(frames: list[Image.Image]) -> bool:
    for im in frames:
        histogram = im.getchannel("A").histogram()
        if any(histogram[1:255]):
            return False
    return True


def _composite_white(im: Image.Image) -> Image.Image:
    flat = Image.new("RGB", im.size, (255, 255, 255))
    flat.paste(im.convert("RGB"), (0, 0), im.getchannel("A"))
    return flat


def _keyed_palette(im: Image.Image) -> Image.Image:
    """RGBA with 0/255 alpha -> P with up to 255 colours and index 255 transparent."""
    alpha = im.getchannel("A")
    opaque = Image.new("RGB", im.size, (0, 0, 0))
    opaque.paste(im.convert("RGB"), (0, 0), alpha)
    p = opaque.quantize(colors=255, dither=Image.Dither.NONE)
    palette = (p.getpalette() or [])[: 3 * 255]
    palette += [0] * (3 * 256 - len(palette))
    p.putpalette(palette)
    p.paste(_TRANSPARENT_INDEX, (0, 0), alpha.point(lambda a: 255 if a == 0 else 0))
    p.info = {"transparency": _TRANSPARENT_INDEX}
    return p


# --------------------------------------------------------------------------- writers


def _write_gif(frames, handle, fps, loop, provenance) -> None:
    if frames[0].mode == "RGBA":
        if _binary_alpha(frames):
            frames = [_keyed_palette(im) for im in frames]
        else:
            frames = [_composite_white(im) for im in frames]
    params: dict[str, Any] = {
        "duration": _durations(len(frames), fps, quantum=10, minimum=_GIF_MIN_DELAY_MS),
        "disposal": 2,
        "optimize": True,
    }
    if loop:
        params["loop"] = 0  # NETSCAPE extension, 0 = for ever; without it: play once
    if provenance is not None:
        params["comment"] = _provenance_json(provenance)
    frames[0].save(handle, format="GIF", save_all=True, append_images=frames[1:], **params)


def _write_webp(frames, handle, fps, loop, provenance) -> None:
    if frames[0].mode == "L":
        frames = [im.convert("RGB") for im in frames]
    width, height = frames[0].size
    params: dict[str, Any] = {
        "duration": _durations(len(frames), fps),
        "loop": 0 if loop else 1,
        "quality": 90,
        "lossless": width * height <= _WEBP_LOSSLESS_PIXELS,
    }
    if provenance is not None:
        params["xmp"] = _XMP_TEMPLATE.format(_xml_escape(_provenance_json(provenance))).encode()
    frames[0].save(handle, format="WEBP", save_all=True, append_images=frames[1:], **params)


def _write_apng(frames, handle, fps, loop, provenance) -> None:
    params: dict[str, Any] = {
        "duration": _durations(len(frames), fps),
        "loop": 0 if loop else 1,  # APNG num_plays: 0 = for ever
        "default_image": False,
    }
    if provenance is not None:
        info = PngImagePlugin.PngInfo()
        info.add_itxt("artkit", _provenance_json(provenance))
        params["pnginfo"] = info
    frames[0].save(handle, format="PNG", save_all=True, append_images=frames[1:], **params)


def _even(im: Image.Image) -> Image.Image:
    """Pad to even width and height by repeating the last column / row."""
    w, h = im.size
    if w % 2 == 0 and h % 2 == 0:
        return im
    out = im.crop((0, 0, w + w % 2, h + h % 2))
    if w % 2:
        out.paste(im.crop((w - 1, 0, w, h)), (w, 0))
    if h % 2:
        out.paste(out.crop((0, h - 1, out.width, h)), (0, h))
    return out


def _write_mp4(frames, target: Path, fps, provenance) -> None:
    imageio_ffmpeg = require_ffmpeg()
    frames = [_even(im if im.mode == "RGB" else _flatten(im)) for im in frames]
    output_params = ["-movflags", "+faststart"]
    if provenance is not None:
        output_params += ["-metadata", f"comment={_provenance_json(provenance)}"]
    tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}.mp4")
    try:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            frames[0].size,
            pix_fmt_in="rgb24",
            fps=float(fps),
            quality=7,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=output_params,
        )
        writer.send(None)
        for im in frames:
            writer.send(im.tobytes())
        writer.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, Exception) and not isinstance(exc, ArtkitError):
            raise ImageError(f"cannot write animation {str(target)!r}: {exc}") from None
        raise


def _flatten(im: Image.Image) -> Image.Image:
    return _composite_white(im) if im.mode == "RGBA" else im.convert("RGB")


_PILLOW_WRITERS = {"GIF": _write_gif, "WEBP": _write_webp, "PNG": _write_apng}


def write_animation(
    frames: Sequence[Image.Image] | Iterable[Any],
    path: str | os.PathLike[str],
    *,
    fps: float = 24,
    loop: bool = True,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``frames`` (PIL images or uint8 arrays, all one size) as an animation.

    The format follows the suffix (see the module docstring); ``fps`` sets the frame
    duration, ``loop=True`` repeats for ever and ``loop=False`` plays once.
    Returns ``Path(path)``. Raises :class:`UsageError` for an unknown suffix, no
    frames, frames of different sizes, a bad ``fps``, or ``.mp4`` without
    imageio-ffmpeg; :class:`ImageError` when the file cannot be written (an existing
    file at ``path`` is then left as it was).
    """
    target = Path(path)
    fmt = SUPPORTED_SUFFIXES.get(target.suffix.lower())
    if fmt is None:
        what = repr(target.suffix) if target.suffix else "no suffix"
        raise UsageError(
            f"cannot write animation {str(target)!r}: unsupported format ({what}); "
            f"use {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise UsageError(f"fps must be a number, not {fps!r}") from None
    if not fps > 0 or fps == float("inf"):
        raise UsageError(f"fps must be a positive number, not {fps!r}")
    if fmt == "MP4":
        # Fail before doing any work when the optional package is missing.
        require_ffmpeg()

    images = [_as_image(frame, i) for i, frame in enumerate(frames)]
    if not images:
        raise UsageError(f"cannot write animation {str(target)!r}: no frames")
    size = images[0].size
    for i, im in enumerate(images):
        if im.size != size:
            raise UsageError(
                f"animation frames must all be one size: frame 0 is {size[0]}x{size[1]}, "
                f"frame {i} is {im.width}x{im.height}"
            )
    if min(size) < 1:
        raise UsageError(f"animation frames are empty ({size[0]}x{size[1]})")
    images = _normalize(images)
    target.parent.mkdir(parents=True, exist_ok=True)

    if fmt == "MP4":
        _write_mp4(images, target, fps, provenance)
        return target
    try:
        with atomic_open(target) as handle:
            _PILLOW_WRITERS[fmt](images, handle, fps, loop, provenance)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot write animation {str(target)!r}: {exc}") from None
    return target


# --------------------------------------------------------------------------- reading


#: the most pixels :func:`read_frames` decodes from one file, all frames together
#: (about 400 MB as RGBA): 300 frames of 512x512 fit, a decompression bomb does not
MAX_ANIMATION_PIXELS = 100_000_000


def read_mp4_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance :func:`write_animation` put in an MP4's ``comment`` tag, or None.

    Read with the ffmpeg that imageio-ffmpeg ships (a one-line UsageError without it),
    as an ``ffmetadata`` listing; only a JSON object there counts.
    """
    import subprocess

    from artkit.images import _json_object_or_none

    exe = require_ffmpeg().get_ffmpeg_exe()
    name = "file:" + os.path.abspath(os.fspath(path))  # never read as an ffmpeg option
    try:
        listing = subprocess.run(
            [exe, "-v", "error", "-i", name, "-f", "ffmetadata", "-"],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as exc:
        raise ImageError(f"cannot read animation {os.fspath(path)!r}: {exc}") from None
    return _json_object_or_none(_ffmetadata(listing).get("comment"))


def _ffmetadata(text: str) -> dict[str, str]:
    """ffmpeg's ``ffmetadata`` text -> {key: value}; a backslash escapes the next character
    (``=``, ``;``, ``#``, a backslash or a newline)."""
    entries: dict[str, str] = {}
    line: list[str] = []
    chars = iter(text + "\n")  # the last line may lack its newline
    for ch in chars:
        if ch == "\\":
            line.append(next(chars, ""))
            continue
        if ch != "\n":
            line.append(ch if ch != "=" else "\0")  # an unescaped "=" splits key from value
            continue
        entry, line = "".join(line), []
        key, sep, value = entry.partition("\0")
        if sep and not key.startswith((";", "[")):
            entries[key] = value.replace("\0", "=")
    return entries


def read_frames(path: str | os.PathLike[str]) -> list[Image.Image]:
    """Every frame of an animation (or the one frame of a still) as RGB / RGBA / L.

    Frames are composed as a viewer shows them (disposal and blending applied) and
    detached from the file; each keeps the file's ``info`` for that frame, e.g.
    ``duration`` (ms) and ``loop``. ``.mp4`` needs imageio-ffmpeg. Raises
    :class:`ImageError` naming the file when it cannot be read.
    """
    name = os.fspath(path)
    if name.lower().endswith(".mp4"):
        return _read_mp4(name)
    frames = []
    try:
        with Image.open(name) as im:
            # checked from the header before decoding: a 959-byte GIF can declare 40
            # frames of 2000x2000 (640 MB decoded); see MAX_ANIMATION_PIXELS
            side = im.width * im.height
            if side > (Image.MAX_IMAGE_PIXELS or math.inf):
                raise ImageError(
                    f"cannot read animation {name!r}: {im.width}x{im.height} frames are too large "
                    f"to decode safely (limit {Image.MAX_IMAGE_PIXELS:,} pixels)"
                )
            total = 0
            for frame in ImageSequence.Iterator(im):
                total += side
                if total > MAX_ANIMATION_PIXELS:
                    raise ImageError(
                        f"cannot read animation {name!r}: more than {MAX_ANIMATION_PIXELS:,} pixels "
                        f"in all ({len(frames)} frames of {im.width}x{im.height} so far)"
                    )
                frame.load()  # some plugins (WebP) fill info["duration"] on load
                info = dict(frame.info)
                if has_alpha(frame):
                    copy = frame.convert("RGBA")
                elif frame.mode in ("L", "RGB"):
                    copy = frame.copy()
                else:
                    copy = frame.convert("RGB")
                info.pop("transparency", None)
                copy.info = info
                frames.append(copy)
    except ArtkitError:
        raise
    except Exception as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImageError(f"cannot read animation {name!r}: {why}") from None
    return frames


def _read_mp4(name: str) -> list[Image.Image]:
    imageio_ffmpeg = require_ffmpeg()
    try:
        reader = imageio_ffmpeg.read_frames(name)
        meta = next(reader)
        size = tuple(meta["size"])
        return [Image.frombytes("RGB", size, bytes(data)) for data in reader]
    except Exception as exc:
        raise ImageError(f"cannot read animation {name!r}: {exc}") from None
