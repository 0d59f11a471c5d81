"""``glyphs``: characters drawn from installed fonts, one image per (font, character).

The fonts are every ``.ttf`` / ``.otf`` / ``.ttc`` under the system font folders
(Debian's ``fonts-*`` packages put hundreds there) or those ``fonts=`` names (a
glob, a folder or a file; several joined with ``:``). Each font draws each
character of ``chars`` (``A-Za-z0-9`` by default) as grey ink:

- ``fit=box`` (default): the glyph is drawn large (twice the resolution), cropped to
  its ink and scaled with Lanczos so that its longer side fills the square inside
  ``padding`` -- every glyph as big as it can be, like notMNIST;
- ``fit=em``: the glyph is drawn directly at the target size with the font's em
  ``size`` times the side, centred on its ink horizontally and on the font's line
  box vertically -- one scale per font, so ``x`` stays smaller than ``X`` and ``g``
  keeps its descender.

White ink on black (``invert=true``: black on white); ``channels=4`` is the ink
colour with the coverage as alpha on transparency, ``channels=3`` the grey image
replicated. A character the font lacks draws the font's ``.notdef`` box; such
glyphs (detected by comparing each mask with the mask of an unassigned code point)
and glyphs that draw nothing are skipped and listed in ``skipped``, as are fonts
Pillow cannot load at the size (colour bitmap fonts such as Noto Color Emoji) and
fonts that have none of the characters. Order: fonts sorted by path, then ``chars``
in the given order -- deterministic. Everything is rendered when the dataset is
built (about 1,400 glyphs a second at 32 px) and kept in the decoded-dataset cache
(:mod:`artkit.dataset_cache`), keyed by the fonts' paths, sizes and mtimes and the
parameters.
"""

from __future__ import annotations

import glob
import hashlib
import json
import operator
import os
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from artkit import assets
from artkit.data import DecodedImages, resolution_value
from artkit.errors import ArtkitError, UsageError

from .configs import GlyphsConfig, check_geometry, parse_chars

#: bump whenever the drawing code changes what any image looks like
RENDER_VERSION = 1
#: font files read from folders and globs (compared case-insensitively)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
DEFAULT_PATTERN = "/usr/share/fonts/**/*.ttf|otf"
#: the one line that installs some fonts (``artkit doctor`` shows it too)
INSTALL = "apt-get install fonts-dejavu-core fonts-noto-core"
INSTALL_HINT = f"install some ({INSTALL}) or pass fonts=/path/*.ttf"
#: what works on any machine instead
INSTEAD = "the built-in `shapes` dataset works without them"
#: a code point no font assigns: what it draws is the font's .notdef glyph
_UNASSIGNED = chr(0x10FFFD)
_OWNER = "glyphs dataset"


class GlyphsDataset(DecodedImages):
    """Every (font, character) pair as uint8 arrays ``(height, width, channels)``."""

    kind = "glyphs"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        fonts: str = "",
        chars: str = "A-Za-z0-9",
        fit: str = "box",
        padding: float = 0.1,
        size: float = 0.7,
        invert: bool = False,
        cache: bool = True,
    ):
        #: (height, width): a non-square canvas pads the glyph (sized to the shorter side)
        self.shape = check_geometry(_OWNER, resolution, channels)
        self.config = GlyphsConfig(
            fonts=fonts, chars=chars, fit=fit, padding=padding, size=size, invert=invert
        )  # validates
        self.resolution = resolution_value(*self.shape)
        self.channels = channels
        self.chars = parse_chars(chars)
        self.fit = fit
        self.padding = float(padding)
        self.size = float(size)
        self.invert = invert
        #: every font file that matched, sorted by path
        self.fonts = find_fonts(fonts)
        self._fingerprint = _fingerprint(self.fonts, self._spec())
        #: (font path, character) of each image
        self.items: list[tuple[str, str]] = []
        #: (what, reason) for each font or glyph that could not be used
        self.skipped: list[tuple[str, str]] = []
        #: True when the images came from the decoded-dataset cache
        self.cache_hit = False
        if cache:
            from artkit.dataset_cache import cached

            images, meta, hit = cached(
                "glyphs", self._fingerprint, self.resolution, channels, self._render_all
            )
            try:
                items = [(str(f), str(c)) for f, c in meta["items"]]
                skipped = [(str(w), str(r)) for w, r in meta["skipped"]]
                if len(items) != len(images):
                    raise ValueError("entry does not match its images")
            except (KeyError, TypeError, ValueError):  # a hand-edited entry: draw again
                images, meta = self._render_all()
                items, skipped, hit = list(meta["items"]), list(meta["skipped"]), False
            self.images, self.items, self.skipped, self.cache_hit = images, items, skipped, hit
        else:
            self.images, meta = self._render_all()
            self.items, self.skipped = meta["items"], meta["skipped"]
        if not self.items:
            first = f" (first: {self.skipped[0][0]}: {self.skipped[0][1]})" if self.skipped else ""
            raise ArtkitError(
                f"{_OWNER}: none of the {len(self.fonts)} fonts drew any of the "
                f"{len(self.chars)} characters{first}; {INSTALL_HINT}"
            )

    # -- rendering --------------------------------------------------------------

    def _render_all(self) -> tuple[Any, dict[str, Any]]:
        """Draw every glyph; the array and ``{"items": ..., "skipped": ...}``."""
        import numpy as np

        c = self.channels
        items: list[tuple[str, str]] = []
        skipped: list[tuple[str, str]] = []
        arrays: list[Any] = []
        for path in self.fonts:
            try:
                font = self._load(path)
            except OSError as exc:
                skipped.append((path, f"cannot load the font ({_reason(exc)})"))
                continue
            notdef = _signature(font, _UNASSIGNED)
            drawn: list[tuple[str, Any]] = []
            missing: list[tuple[str, str]] = []
            for ch in self.chars:
                if _signature(font, ch) == notdef:
                    missing.append((f"{path} {ch!r}", "not in the font"))
                    continue
                coverage = self._coverage(font, ch)
                if coverage is None:
                    missing.append((f"{path} {ch!r}", "draws nothing"))
                else:
                    drawn.append((ch, coverage))
            if not drawn:
                skipped.append((path, "has none of the characters"))
                continue
            skipped.extend(missing)
            for ch, coverage in drawn:
                items.append((path, ch))
                arrays.append(self._to_channels(np.asarray(coverage, dtype=np.uint8)))
        images = np.empty((len(arrays), *self.shape, c), dtype=np.uint8)
        for k, arr in enumerate(arrays):
            images[k] = arr
        return images, {"items": items, "skipped": skipped}

    def _load(self, path: str) -> ImageFont.FreeTypeFont:
        r = min(self.shape)
        px = max(1, round(self.size * r)) if self.fit == "em" else min(512, max(48, 2 * r))
        # Single characters need no shaping: the basic layout is faster than raqm.
        return ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.BASIC)

    def _coverage(self, font: ImageFont.FreeTypeFont, ch: str) -> Image.Image | None:
        """The glyph's ink as an ``L`` image ``H x W`` (255 = ink), or None if it draws nothing."""
        rows, cols = self.shape
        r = min(rows, cols)
        left, top, right, bottom = font.getbbox(ch, anchor="ls")
        if right <= left or bottom <= top:
            return None
        if self.fit == "em":
            ascent, descent = font.getmetrics()
            x = round((cols - (right - left)) / 2 - left)
            baseline = round((rows - (ascent + descent)) / 2 + ascent)
            canvas = Image.new("L", (cols, rows), 0)
            ImageDraw.Draw(canvas).text((x, baseline), ch, font=font, fill=255, anchor="ls")
            return canvas if canvas.getbbox() is not None else None
        glyph = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(glyph).text((-left, -top), ch, font=font, fill=255, anchor="ls")
        box = glyph.getbbox()
        if box is None:
            return None
        ink = glyph.crop(box)
        w, h = ink.size
        target = max(1, round((1.0 - 2.0 * self.padding) * r))
        scale = target / max(w, h)
        size = (max(1, min(r, round(w * scale))), max(1, min(r, round(h * scale))))
        ink = ink.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        canvas = Image.new("L", (cols, rows), 0)
        canvas.paste(ink, ((cols - size[0]) // 2, (rows - size[1]) // 2))
        return canvas

    def _to_channels(self, coverage: Any) -> Any:
        """Grey coverage (255 = ink) -> the dataset's channels."""
        import numpy as np

        ink = 0 if self.invert else 255
        if self.channels == 4:
            rgb = np.full((*coverage.shape, 3), ink, dtype=np.uint8)
            return np.concatenate([rgb, coverage[..., None]], axis=-1)
        grey = 255 - coverage if self.invert else coverage
        if self.channels == 3:
            return np.repeat(grey[..., None], 3, axis=-1)
        return grey[..., None]

    # -- the ImageSource contract -----------------------------------------------

    # __len__, __getitem__, __iter__, as_array, fingerprint: DecodedImages

    def label(self, index: int) -> str:
        """``A DejaVuSans`` style name of image ``index`` (the character first)."""
        path, ch = self.items[operator.index(index)]
        return f"{ch} {Path(path).stem}"

    @property
    def class_names(self) -> tuple[str, ...]:
        """What :meth:`class_labels` numbers: the characters, in ``chars`` order."""
        return tuple(self.chars)

    @property
    def style_names(self) -> tuple[str, ...]:
        """What :meth:`style_labels` numbers: the fonts used (file names without suffix), by path."""
        return tuple(Path(path).stem for path in self._fonts_used())

    def style_labels(self) -> Any:
        """The font of every image as its index among the fonts used, sorted by path
        (int64 ``(N,)``)."""
        import numpy as np

        index = {path: k for k, path in enumerate(self._fonts_used())}
        return np.array([index[path] for path, _ in self.items], np.int64)

    def _fonts_used(self) -> list[str]:
        return sorted({path for path, _ in self.items})

    def model_defaults(self) -> dict[str, Any]:
        """Condition a model that can be (``classes``: fastgan, shapegan) on the characters,
        and have it paint grey (``grey``: fastgan, dcgan, vae) where glyphs come as RGB(A).

        On 10 minutes of 2-core training on the 1,364 glyphs of 22 fonts, fastgan
        conditioned on them reached FD 1.11 in the glyph classifier's features where
        unconditioned it reached 5.64 (the textbook DCGAN: 6.55): its samples read as
        letters, not as blends of two. ``classes=0`` trains without them. Glyphs are
        grey ink, so colour in a sample is only ever an error (see :mod:`artkit.nn.grey`);
        ``grey=false`` lets it paint colour. The fonts are :meth:`style_labels`, which
        ``fastgan:styles=N`` (N fonts) learns; not a default, see
        :mod:`artkit_gan.torch_fastgan`.
        """
        from artkit.data import classes_to_condition_on

        grey = {"grey": True} if self.channels in (3, 4) else {}
        return {**classes_to_condition_on(self), **grey}

    def class_labels(self) -> Any:
        """The character of every image as its index in ``chars`` (int64 ``(N,)``).

        A classifier that tells the characters apart across fonts gives the
        ``classifier:data=glyphs`` features, in which a sample that reads as no
        letter stands out, not only a blurred one.
        """
        import numpy as np

        index = {ch: k for k, ch in enumerate(self.chars)}
        unknown = next((ch for _, ch in self.items if ch not in index), None)
        if unknown is not None:  # only a hand-edited cache entry gets here
            raise ArtkitError(f"{_OWNER}: image of {unknown!r}, which is not among chars")
        return np.array([index[ch] for _, ch in self.items], np.int64)

    def summary(self) -> dict[str, Any]:
        """Extra facts for ``artkit data info``."""
        used = {path for path, _ in self.items}
        return {
            "fonts_matched": len(self.fonts),
            "fonts_used": len(used),
            "chars": "".join(self.chars),
        }

    def _spec(self) -> dict[str, Any]:
        return {
            "dataset": "glyphs",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "chars": "".join(self.chars),
            "fit": self.fit,
            "padding": self.padding if self.fit == "box" else None,
            "size": self.size if self.fit == "em" else None,
            "invert": self.invert,
        }

    def __repr__(self) -> str:
        return (
            f"GlyphsDataset(fonts={len(self.fonts)}, images={len(self)}, "
            f"skipped={len(self.skipped)}, resolution={self.resolution}, "
            f"channels={self.channels}, fit={self.fit!r})"
        )


# -- finding fonts ------------------------------------------------------------------


def _is_font_name(name: str) -> bool:
    return not os.path.basename(name).startswith(".") and name.lower().endswith(FONT_SUFFIXES)


def _walk(folder: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(os.path.join(dirpath, n) for n in filenames if _is_font_name(n))
    return found


def find_fonts(fonts: str = "") -> list[str]:
    """The font files ``fonts`` names (globs, folders, files joined with ``:``), sorted.

    Empty: every font under the system font folders (:func:`artkit.assets.system_font_dirs`). The same file reached twice (a
    symlink) counts once. No match is a one-line :class:`UsageError` saying what to
    install.
    """
    spec = fonts.strip()
    candidates: list[str] = []
    if not spec:
        # the system font folders (artkit.assets: none when ARTKIT_SYSTEM_ASSETS=none)
        for folder in assets.system_font_dirs():
            candidates.extend(_walk(str(folder)))
        shown = DEFAULT_PATTERN
    else:
        shown = spec
        for part in spec.split(os.pathsep):
            part = os.path.expanduser(part.strip())
            if not part:
                continue
            if os.path.isdir(part):
                candidates.extend(_walk(part))
            elif glob.has_magic(part):
                for path in glob.glob(part, recursive=True):
                    if os.path.isdir(path):
                        candidates.extend(_walk(path))
                    elif os.path.isfile(path):
                        candidates.append(path)
            elif os.path.isfile(part):
                candidates.append(part)
    unique: dict[str, str] = {}
    for path in sorted(candidates):
        unique.setdefault(os.path.realpath(path), path)
    found = sorted(unique.values())
    if not found:
        note = assets.hidden_note() if not spec else ""
        raise UsageError(f"{_OWNER}: no fonts match {shown!r}{note}; {INSTALL_HINT}; {INSTEAD}")
    return found


# -- helpers ------------------------------------------------------------------------


def _signature(font: ImageFont.FreeTypeFont, ch: str) -> tuple[Any, ...]:
    """What the glyph draws, to compare with the .notdef glyph."""
    mask = font.getmask(ch)
    return (mask.size, mask.getbbox(), bytes(mask))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _fingerprint(fonts: list[str], spec: dict[str, Any]) -> str:
    files = []
    for path in fonts:
        try:
            st = os.stat(path)
            files.append([os.path.abspath(path), st.st_size, st.st_mtime_ns])
        except OSError:
            files.append([os.path.abspath(path), -1, -1])
    blob = json.dumps({"fonts": files, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def locate_fonts() -> str | None:
    """How many system fonts there are, or None (the ``fonts`` asset's check)."""
    count = sum(len(_walk(str(folder))) for folder in assets.system_font_dirs())
    return f"{count} font files" if count else None
