"""``shapes``: procedural abstract compositions, seeded and random-access.

Each picture is a handful of bold flat shapes -- discs, ellipses, rectangles,
triangles, half-discs, rings and thick strokes -- in a harmonious palette (a
base hue and a colour scheme: analogous, complementary, triadic...) on a dark
or light ground. Shapes are drawn with ``PIL.ImageDraw`` at 4x the target size
(2x above 128 px) and box-reduced, which anti-aliases edges by exact coverage.

Picture ``i`` depends only on ``(seed, i)``, the parameters, the resolution and
the channels, so any index can be drawn on its own (``ds[i]``) and always gives
the same pixels: the offline, batteries-included dataset for demos and tests.
Each picture also has a class, the kind of its first (biggest) shape -- one of
eight, see :meth:`ShapesDataset.class_labels` -- which the ``classifier``
evaluation features learn to tell apart (:mod:`artkit.eval.classifier`).
``channels=4`` draws opaque shapes on a transparent ground; ``channels=1`` is
the greyscale rendering. Rendering 4096 pictures at 64x64 takes about a second.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import operator
import random
from typing import Any

from PIL import Image, ImageDraw

from artkit.data import resolution_value

from .configs import ShapesConfig, check_geometry

#: bump whenever the drawing code changes what any image looks like
RENDER_VERSION = 1
_OWNER = "shapes dataset"

#: colour schemes as hue offsets in degrees from the base hue
_SCHEMES: tuple[tuple[float, ...], ...] = (
    (0, 30, -30, 60),  # analogous
    (0, 180, 20, 200),  # complementary pairs
    (0, 120, 240),  # triadic
    (0, 150, 210),  # split complementary
    (0, 90, 180, 270),  # tetradic
    (0, 0, 15, -15),  # near-monochrome
)
#: shape kinds and how often each is drawn
_KINDS: tuple[tuple[str, float], ...] = (
    ("disc", 3.0),
    ("ellipse", 1.5),
    ("rect", 2.0),
    ("triangle", 2.0),
    ("halfdisc", 1.0),
    ("ring", 1.0),
    ("stroke", 1.5),
    ("arc", 1.5),
)


def _supersample(resolution: int) -> int:
    """Drawing scale: 4x up to 128 px, then less so big canvases stay cheap."""
    if resolution <= 128:
        return 4
    if resolution <= 512:
        return 2
    return 1


class ShapesDataset:
    """``count`` seeded abstract compositions as uint8 arrays ``(resolution, resolution, channels)``."""

    #: what :meth:`class_labels` numbers: the shape kinds
    class_names = tuple(name for name, _ in _KINDS)

    def model_defaults(self) -> dict[str, Any]:
        """Model settings that suit these pictures, followed where the user gives none.

        A ground and at most five shape colours, so fastgan paints each image from a
        palette of 8 (:func:`artkit.data.model_defaults`). In the demo's 2.6 minutes
        on 2 cores that took random-conv FD from about 1.04 to 0.74-0.90 and recall
        from 0.45 to 0.71-0.78, and soft neon blobs became flat, clean-edged shapes.
        """
        return {"palette": 8}

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        count: int = 4096,
        seed: int = 0,
        min_shapes: int = 2,
        max_shapes: int = 6,
        background: str = "random",
    ):
        #: (height, width); a non-square picture is the middle of a square one
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = ShapesConfig(
            count=count,
            seed=seed,
            min_shapes=min_shapes,
            max_shapes=max_shapes,
            background=background,
        )  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.count = count
        self.seed = seed
        self.min_shapes = min_shapes
        self.max_shapes = max_shapes
        self.background = background
        #: procedural images are never unreadable; present for the contract's describe()
        self.skipped: list[tuple[str, str]] = []
        self._items: dict[int, Any] = {}
        self._array: Any = None
        self._labels: Any = None

    # -- the ImageSource contract -----------------------------------------------

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Any:
        i = self._index(index)
        if self._array is not None:
            return self._array[i]
        item = self._items.get(i)
        if item is None:
            item = self._items[i] = self.render(i)
        return item

    def __iter__(self):
        for i in range(self.count):
            yield self[i]

    def fingerprint(self) -> str:
        spec = {
            "dataset": "shapes",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "count": self.count,
            "seed": self.seed,
            "min_shapes": self.min_shapes,
            "max_shapes": self.max_shapes,
            "background": self.background,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def as_array(self) -> Any:
        """Every image as one uint8 array ``(N, R, R, C)``, rendered once and kept.

        The array is the cache itself (``torch.from_numpy`` shares it): treat it as read-only.
        """
        if self._array is None:
            import numpy as np

            arr = np.empty((self.count, *self.size, self.channels), dtype=np.uint8)
            todo = [i for i in range(self.count) if i not in self._items]
            for i, item in self._items.items():
                arr[i] = item

            # A plain loop: drawing holds the GIL (ImageDraw is driven from Python and
            # its C calls do not release it), so threads measured no faster here.
            for i in todo:
                arr[i] = self.render(i)
            self._array = arr
            self._items = {}
        return self._array

    # -- drawing ----------------------------------------------------------------

    def render(self, index: int) -> Any:
        """Draw image ``index`` as a fresh uint8 array (no caching)."""
        import numpy as np

        arr = np.asarray(self.image(index), dtype=np.uint8)
        return arr.reshape(*self.size, self.channels)

    def image(self, index: int) -> Image.Image:
        """Draw image ``index`` as a PIL image (mode L, RGB or RGBA)."""
        canvas, _ = self._compose(self._index(index), render=True)
        assert canvas is not None
        h, w = self.size
        if (h, w) != canvas.size:  # drawn square at the longer side: keep the middle
            left, top = (canvas.width - w) // 2, (canvas.height - h) // 2
            canvas = canvas.crop((left, top, left + w, top + h))
        return canvas

    def class_labels(self) -> Any:
        """The class of every image: the kind of its first, biggest shape (int64 ``(N,)``).

        Index ``k`` names ``class_names[k]``. Found by replaying each image's random
        draws up to the first shape, without drawing: a quarter of a second for 4096.
        """
        if self._labels is None:
            import numpy as np

            ids = {name: k for k, name in enumerate(self.class_names)}
            self._labels = np.array(
                [ids[self._compose(i, render=False)[1]] for i in range(self.count)], np.int64
            )
        return self._labels

    def _compose(self, i: int, *, render: bool) -> tuple[Image.Image | None, str]:
        """(the picture or None, the kind of its first shape): one sequence of random draws."""
        rng = random.Random(f"artkit-shapes:{self.seed}:{i}")  # str seeds hash with sha512
        r = max(self.size)
        size = r * _supersample(r)
        tone = self.background
        if tone == "random":
            tone = rng.choice(("dark", "light"))
        ground, colours = _palette(rng, tone)
        canvas: Image.Image | None = None
        draw: Any = _NoDraw()
        if render:
            if self.channels == 4:
                canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
            else:
                canvas = Image.new("RGB", (size, size), ground)
            draw = ImageDraw.Draw(canvas)
        n = rng.randint(self.min_shapes, self.max_shapes)
        previous = -1
        kinds = []
        for k in range(n):
            choices = [j for j in range(len(colours)) if j != previous] or [0]
            previous = rng.choice(choices)
            colour = colours[previous]
            fill = (*colour, 255) if self.channels == 4 else colour
            # the first shapes are the big ones: they set the composition
            scale = rng.uniform(0.28, 0.48) if k == 0 else rng.uniform(0.12, 0.34)
            kinds.append(_draw_shape(draw, rng, size, scale * size, fill))
            if canvas is None:  # only the label was asked for
                return None, kinds[0]
        assert canvas is not None
        if size != r:
            # A box reduction of the supersampled canvas is exact area coverage: smooth
            # edges without the ringing halos Lanczos leaves around hard flat shapes
            # (faint non-zero alpha around every shape in RGBA) -- and 3x faster.
            canvas = canvas.reduce(size // r)
        if self.channels == 1:
            canvas = canvas.convert("L")
        return canvas, kinds[0]

    def _index(self, index: int) -> int:
        i = operator.index(index)
        if not -self.count <= i < self.count:
            raise IndexError(f"shapes dataset index {i} out of range ({self.count} images)")
        return i % self.count

    def __repr__(self) -> str:
        return (
            f"ShapesDataset(count={self.count}, seed={self.seed}, resolution={self.resolution}, "
            f"channels={self.channels})"
        )


class _NoDraw:
    """An ``ImageDraw`` stand-in that draws nothing: replays an image's random draws for its label."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    h %= 1.0
    if 0.17 < h < 0.45:  # yellow-greens look neon at full strength: mute them a little
        s, v = s * 0.8, v * 0.88
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _palette(
    rng: random.Random, tone: str
) -> tuple[tuple[int, int, int], list[tuple[int, int, int]]]:
    """A ground colour and 3-5 shape colours around a random base hue."""
    base = rng.random()
    scheme = rng.choice(_SCHEMES)
    colours = []
    for offset in scheme:
        h = base + (offset + rng.uniform(-8, 8)) / 360
        if tone == "dark":
            colours.append(_hsv(h, rng.uniform(0.45, 0.9), rng.uniform(0.7, 1.0)))
        else:
            colours.append(_hsv(h, rng.uniform(0.5, 0.95), rng.uniform(0.45, 0.92)))
    if rng.random() < 0.35:  # a neutral accent: cream on dark grounds, ink on light ones
        accent = (
            _hsv(base, 0.08, 0.95)
            if tone == "dark"
            else _hsv(base + 0.5, rng.uniform(0.2, 0.5), 0.16)
        )
        colours.append(accent)
    if tone == "dark":
        ground = _hsv(
            base + rng.choice((0.5, 0.0, 0.6)), rng.uniform(0.25, 0.6), rng.uniform(0.1, 0.22)
        )
    else:
        ground = _hsv(
            rng.choice((0.1, 0.12, base)), rng.uniform(0.04, 0.14), rng.uniform(0.88, 0.97)
        )
    return ground, colours


def _pick_kind(rng: random.Random) -> str:
    total = sum(w for _, w in _KINDS)
    x = rng.uniform(0, total)
    for name, weight in _KINDS:
        x -= weight
        if x <= 0:
            return name
    return _KINDS[-1][0]


def _rotate(points: list[tuple[float, float]], cx: float, cy: float, angle: float):
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]


def _draw_shape(draw: ImageDraw.ImageDraw, rng: random.Random, size: int, r: float, fill) -> str:
    """One shape of radius about ``r`` somewhere on a ``size`` x ``size`` canvas; returns its kind."""
    cx = rng.uniform(0.15, 0.85) * size
    cy = rng.uniform(0.15, 0.85) * size
    angle = rng.uniform(0, math.pi)
    kind = _pick_kind(rng)
    stroke = max(2, round(size * rng.uniform(0.045, 0.085)))
    if kind == "disc":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "ellipse":
        a, b = r * 1.25, r * rng.uniform(0.45, 0.75)
        pts = [(a * math.cos(t), b * math.sin(t)) for t in (k * math.tau / 72 for k in range(72))]
        draw.polygon(_rotate(pts, cx, cy, angle), fill=fill)
    elif kind == "rect":
        w, h = r * rng.uniform(0.8, 1.5), r * rng.uniform(0.5, 1.2)
        pts = [(-w, -h), (w, -h), (w, h), (-w, h)]
        if rng.random() < 0.5:  # half of them axis-aligned, for a constructivist feel
            angle = 0.0
        draw.polygon(_rotate(pts, cx, cy, angle), fill=fill)
    elif kind == "triangle":
        pts = []
        for k in range(3):
            t = angle + k * math.tau / 3 + rng.uniform(-0.35, 0.35)
            d = r * rng.uniform(0.9, 1.3)
            pts.append((cx + d * math.cos(t), cy + d * math.sin(t)))
        draw.polygon(pts, fill=fill)
    elif kind == "halfdisc":
        start = rng.choice((0, 90, 180, 270)) + rng.uniform(-20, 20)
        draw.pieslice((cx - r, cy - r, cx + r, cy + r), start, start + 180, fill=fill)
    elif kind == "ring":
        width = max(stroke, round(r * rng.uniform(0.25, 0.45)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=width)
    elif kind == "arc":
        start = rng.uniform(0, 360)
        extent = rng.uniform(90, 220)
        rr = r * 1.2
        draw.arc(
            (cx - rr, cy - rr, cx + rr, cy + rr), start, start + extent, fill=fill, width=stroke
        )
    else:  # stroke: a thick gently curved line with round caps
        length = r * rng.uniform(1.4, 2.4)
        x0, y0 = cx - length / 2 * math.cos(angle), cy - length / 2 * math.sin(angle)
        x2, y2 = cx + length / 2 * math.cos(angle), cy + length / 2 * math.sin(angle)
        bend = rng.uniform(-0.5, 0.5) * length
        x1, y1 = cx - bend * math.sin(angle), cy + bend * math.cos(angle)
        pts = []
        for k in range(25):
            t = k / 24
            u = 1 - t
            pts.append(
                (u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2)
            )
        draw.line(pts, fill=fill, width=stroke, joint="curve")
        half = stroke / 2
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - half, y - half, x + half, y + half), fill=fill)
    return kind
