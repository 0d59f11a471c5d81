"""Steps that move pixels around: resize, crop, fit, pad, upscale, mirror, flip, kaleidoscope, tile."""

from __future__ import annotations

import math

from PIL import Image, ImageOps

from artkit.errors import UsageError
from artkit_post.base import (
    check_pixels,
    fill_for,
    has_alpha,
    normalize,
    parse_colour,
    promote,
    step,
)
from artkit_post.configs import (
    CropConfig,
    FitConfig,
    FlipConfig,
    KaleidoscopeConfig,
    MirrorConfig,
    PadConfig,
    ResizeConfig,
    TileConfig,
    UpscaleConfig,
)

FILTERS = {
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
}

#: (x, y) fractions of the free space left of / above the kept or placed part.
ANCHORS = {
    "centre": (0.5, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "top-left": (0.0, 0.0),
    "top-right": (1.0, 0.0),
    "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0),
}


def _resized(im: Image.Image, size: tuple[int, int], filter: str, owner: str) -> Image.Image:
    check_pixels(owner, size)
    if im.size == size:
        return im.copy()
    # Pillow premultiplies alpha for every filter but nearest, so edges stay clean.
    return im.resize(size, FILTERS[filter])


@step(ResizeConfig)
def resize(image: Image.Image, cfg: ResizeConfig) -> Image.Image:
    im = normalize(image)
    w, h = im.size
    if cfg.scale is not None:
        size = (max(1, round(w * cfg.scale)), max(1, round(h * cfg.scale)))
    else:
        assert cfg.size is not None
        tw, th = cfg.size
        if tw == 0:
            tw = max(1, round(w * th / h))
        if th == 0:
            th = max(1, round(h * tw / w))
        size = (tw, th)
    return _resized(im, size, cfg.filter, cfg.NAME)


@step(CropConfig)
def crop(image: Image.Image, cfg: CropConfig) -> Image.Image:
    im = normalize(image)
    w, h = im.size
    if cfg.box is not None:
        left, top, right, bottom = cfg.box
        box = (max(0, left), max(0, top), min(w, right), min(h, bottom))
        if box[2] <= box[0] or box[3] <= box[1]:
            raise UsageError(
                f"{cfg.NAME}: box={'/'.join(map(str, cfg.box))} lies outside the {w}x{h} image"
            )
        return im.crop(box)
    assert cfg.size is not None
    cw, ch = min(cfg.size[0], w), min(cfg.size[1], h)
    fx, fy = ANCHORS[cfg.anchor]
    x0, y0 = round((w - cw) * fx), round((h - ch) * fy)
    return im.crop((x0, y0, x0 + cw, y0 + ch))


@step(FitConfig)
def fit(image: Image.Image, cfg: FitConfig) -> Image.Image:
    im = normalize(image)
    tw, th = cfg.size
    if cfg.mode == "stretch":
        return _resized(im, (tw, th), cfg.filter, cfg.NAME)
    if cfg.mode == "cover":
        check_pixels(cfg.NAME, (tw, th))
        return ImageOps.fit(im, (tw, th), FILTERS[cfg.filter], centering=ANCHORS[cfg.anchor])
    w, h = im.size
    scale = min(tw / w, th / h)
    size = (min(tw, max(1, round(w * scale))), min(th, max(1, round(h * scale))))
    return _resized(im, size, cfg.filter, cfg.NAME)


@step(PadConfig)
def pad(image: Image.Image, cfg: PadConfig) -> Image.Image:
    im = normalize(image)
    if cfg.color == "auto":
        colour = (0, 0, 0, 0) if has_alpha(im) else (0, 0, 0, 255)
    else:
        colour = parse_colour(cfg.NAME, "color", cfg.color)
    im = promote(im, colour)
    w, h = im.size
    if cfg.px is not None:
        size = (w + 2 * cfg.px, h + 2 * cfg.px)
        at = (cfg.px, cfg.px)
    else:
        assert cfg.size is not None
        size = (max(w, cfg.size[0]), max(h, cfg.size[1]))
        fx, fy = ANCHORS[cfg.anchor]
        at = (round((size[0] - w) * fx), round((size[1] - h) * fy))
    check_pixels(cfg.NAME, size)
    out = Image.new(im.mode, size, fill_for(im.mode, colour))
    out.paste(im, at)
    return out


@step(UpscaleConfig)
def upscale(image: Image.Image, cfg: UpscaleConfig) -> Image.Image:
    im = normalize(image)
    size = (im.width * cfg.factor, im.height * cfg.factor)
    check_pixels(cfg.NAME, size)
    return im.resize(size, Image.Resampling.NEAREST)


def _mirror_lr(im: Image.Image) -> Image.Image:
    """Left half kept, reflected onto the right (an odd middle column stays single)."""
    w, h = im.size
    half = (w + 1) // 2
    left = im.crop((0, 0, half, h))
    out = im.copy()
    if w > 1:
        flipped = left.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out.paste(flipped.crop((w % 2, 0, half, h)), (half, 0))
    return out


@step(MirrorConfig)
def mirror(image: Image.Image, cfg: MirrorConfig) -> Image.Image:
    im = normalize(image)
    verticals = {"horizontal": (False,), "vertical": (True,), "both": (False, True)}[cfg.axis]
    for vertical in verticals:
        if vertical:  # the vertical case is the horizontal one on the transposed image
            im = im.transpose(Image.Transpose.TRANSPOSE)
        if cfg.reverse:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        im = _mirror_lr(im)
        if cfg.reverse:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if vertical:
            im = im.transpose(Image.Transpose.TRANSPOSE)
    return im


@step(FlipConfig)
def flip(image: Image.Image, cfg: FlipConfig) -> Image.Image:
    im = normalize(image)
    if cfg.axis in ("horizontal", "both"):
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if cfg.axis in ("vertical", "both"):
        im = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return im if im is not image else im.copy()


def _reflect_index(coord, n: int):
    """Float coordinates folded back into 0..n-1 by mirror reflection, rounded to ints."""
    import numpy as np

    if n == 1:
        return np.zeros(coord.shape, dtype=np.intp)
    period = 2 * (n - 1)
    c = np.mod(np.rint(coord), period)
    c = np.where(c > n - 1, period - c, c)
    return c.astype(np.intp)


@step(KaleidoscopeConfig)
def kaleidoscope(image: Image.Image, cfg: KaleidoscopeConfig) -> Image.Image:
    import numpy as np

    im = normalize(image)
    arr = np.asarray(im)
    h, w = arr.shape[:2]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
    x = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
    r = np.hypot(x, y)
    theta = np.arctan2(y, x)
    wedge = 2 * math.pi / cfg.segments
    # Fold every angle into the first wedge, reflecting every other one: the wedges
    # then meet as mirror images (seamless because the number of segments is even).
    t = np.mod(theta, 2 * wedge)
    t = np.where(t > wedge, 2 * wedge - t, t)
    phi = t - wedge / 2 + math.radians(cfg.angle)
    sx = _reflect_index(cx + r * np.cos(phi), w)
    sy = _reflect_index(cy + r * np.sin(phi), h)
    return Image.fromarray(np.ascontiguousarray(arr[sy, sx]))


@step(TileConfig)
def tile(image: Image.Image, cfg: TileConfig) -> Image.Image:
    im = normalize(image)
    w, h = im.size
    size = (w * cfg.nx, h * cfg.ny)
    check_pixels(cfg.NAME, size)
    variants = {(0, 0): im}
    if cfg.mirror:
        variants[(1, 0)] = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        variants[(0, 1)] = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        variants[(1, 1)] = im.transpose(Image.Transpose.ROTATE_180)
    out = Image.new(im.mode, size)
    for j in range(cfg.ny):
        for i in range(cfg.nx):
            key = (i % 2, j % 2) if cfg.mirror else (0, 0)
            out.paste(variants[key], (i * w, j * h))
    return out
