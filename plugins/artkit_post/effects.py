"""Texture and filter steps: sharpen, blur, pixelate, grain, vignette, halftone.

sharpen, blur and pixelate are Pillow-only; grain, vignette and halftone use numpy
(imported inside the functions). Randomness comes only from the ``seed`` parameter.
"""

from __future__ import annotations

import math

from PIL import Image, ImageFilter

from artkit_post.base import normalize, on_colour, split_alpha, step, with_alpha
from artkit_post.configs import (
    BlurConfig,
    GrainConfig,
    HalftoneConfig,
    PixelateConfig,
    SharpenConfig,
    VignetteConfig,
)

_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


@step(SharpenConfig)
def sharpen(image: Image.Image, cfg: SharpenConfig) -> Image.Image:
    mask = ImageFilter.UnsharpMask(cfg.radius, cfg.percent, cfg.threshold)
    return on_colour(image, lambda im: im.filter(mask))


@step(BlurConfig)
def blur(image: Image.Image, cfg: BlurConfig) -> Image.Image:
    im = normalize(image)
    if cfg.radius == 0:
        return im.copy()
    kernel = (
        ImageFilter.GaussianBlur(cfg.radius)
        if cfg.kind == "gaussian"
        else ImageFilter.BoxBlur(cfg.radius)
    )
    mode = im.mode
    if mode in _PREMULTIPLIED:  # blur premultiplied, so transparent colours do not bleed in
        return im.convert(_PREMULTIPLIED[mode]).filter(kernel).convert(mode)
    return im.filter(kernel)


@step(PixelateConfig)
def pixelate(image: Image.Image, cfg: PixelateConfig) -> Image.Image:
    im = normalize(image)
    mode, (w, h), s = im.mode, im.size, cfg.size
    work = im.convert(_PREMULTIPLIED[mode]) if mode in _PREMULTIPLIED else im
    small = work.reduce(s) if s > 1 else work  # each pixel: the mean of one s x s block
    big = small.resize((small.width * s, small.height * s), Image.Resampling.NEAREST)
    big = big.crop((0, 0, w, h))
    return big.convert(mode) if big.mode != mode else big


@step(GrainConfig)
def grain(image: Image.Image, cfg: GrainConfig) -> Image.Image:
    import numpy as np

    def apply(im: Image.Image) -> Image.Image:
        arr = np.asarray(im, dtype=np.float32)
        rng = np.random.default_rng(cfg.seed)
        shape = arr.shape[:2] if (cfg.mono or arr.ndim == 2) else arr.shape
        noise = rng.standard_normal(shape, dtype=np.float32)
        noise *= cfg.amount * 255
        if noise.ndim < arr.ndim:
            noise = noise[..., None]
        out = np.clip(np.rint(arr + noise), 0, 255).astype(np.uint8)
        return Image.fromarray(out)

    return on_colour(image, apply)


@step(VignetteConfig)
def vignette(image: Image.Image, cfg: VignetteConfig) -> Image.Image:
    import numpy as np

    def apply(im: Image.Image) -> Image.Image:
        arr = np.asarray(im, dtype=np.float32)
        h, w = arr.shape[:2]
        cy, cx = (h - 1) / 2, (w - 1) / 2
        y = np.arange(h, dtype=np.float32)[:, None] - cy
        x = np.arange(w, dtype=np.float32)[None, :] - cx
        d = np.hypot(x, y) / max(math.hypot(cx, cy), 1e-6)  # 1 at the corners
        if cfg.radius < 1:
            t = np.clip((d - cfg.radius) / (1 - cfg.radius), 0, 1)
        else:
            t = np.zeros_like(d)
        factor = 1 - cfg.strength * t * t * (3 - 2 * t)  # smoothstep falloff
        if arr.ndim == 3:
            factor = factor[..., None]
        out = np.clip(np.rint(arr * factor), 0, 255).astype(np.uint8)
        return Image.fromarray(out)

    return on_colour(image, apply)


def _screen(ink_image: Image.Image, cell: int, angle: float):
    """Dot coverage (float 0..1) of one halftone screen for an L image of ink amounts."""
    import numpy as np

    # Each dot samples the mean ink around its cell centre.
    mean = np.asarray(ink_image.filter(ImageFilter.BoxBlur(cell / 2)), dtype=np.float32) / 255
    h, w = mean.shape
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    y = np.arange(h, dtype=np.float32)[:, None] + 0.5
    x = np.arange(w, dtype=np.float32)[None, :] + 0.5
    u = x * cos + y * sin  # screen coordinates: the grid is rotated by `angle`
    v = y * cos - x * sin
    cu = (np.floor(u / cell) + 0.5) * cell
    cv = (np.floor(v / cell) + 0.5) * cell
    ix = np.clip(np.rint(cu * cos - cv * sin - 0.5), 0, w - 1).astype(np.intp)
    iy = np.clip(np.rint(cu * sin + cv * cos - 0.5), 0, h - 1).astype(np.intp)
    level = mean[iy, ix]
    # The dot covers as much of its cell as there is ink (full ink: a solid cell).
    radius = cell * _radius_for_coverage(level)
    dist = np.hypot(u - cu, v - cv)
    cover = np.clip(radius - dist + 0.5, 0, 1)  # one pixel of anti-aliasing...
    return cover * np.clip(2 * radius, 0, 1)  # ...that must not ink a dot of radius 0


def _radius_for_coverage(level):
    """Radius (in cells) of a centred disc covering ``level`` (0..1) of its square cell."""
    import numpy as np

    rho = np.linspace(0, math.sqrt(0.5), 513)
    # disc area minus the four caps that stick out past the cell's edges
    outside = np.clip(rho, 0.5, None)
    caps = outside**2 * np.arccos(0.5 / outside) - 0.5 * np.sqrt(outside**2 - 0.25)
    area = np.pi * rho**2 - 4 * caps
    return np.interp(level, area, rho).astype(np.float32)


@step(HalftoneConfig)
def halftone(image: Image.Image, cfg: HalftoneConfig) -> Image.Image:
    import numpy as np

    base, alpha = split_alpha(image)
    if cfg.color == "mono":
        ink = Image.eval(base.convert("L"), lambda v: 255 - v)
        paper = 1 - _screen(ink, cfg.cell, cfg.angle)
        out = Image.fromarray(np.rint(paper * 255).astype(np.uint8))
        return with_alpha(out, alpha)
    rgb = np.asarray(base.convert("RGB"), dtype=np.float32) / 255
    k = 1 - rgb.max(axis=2)
    denom = np.maximum(1 - k, 1e-6)
    cmy = (1 - rgb - k[..., None]) / denom[..., None]
    # The classic screen angles (C 15, M 75, Y 0, K 45) turned by angle - 45.
    turn = cfg.angle - 45
    cover = {}
    for name, values, offset in (
        ("c", cmy[..., 0], 15),
        ("m", cmy[..., 1], 75),
        ("y", cmy[..., 2], 0),
        ("k", k, 45),
    ):
        ink = Image.fromarray(np.rint(values * 255).astype(np.uint8))
        cover[name] = _screen(ink, cfg.cell, offset + turn)
    white = 1 - cover["k"]
    out = np.stack(
        [(1 - cover["c"]) * white, (1 - cover["m"]) * white, (1 - cover["y"]) * white], axis=2
    )
    result = Image.fromarray(np.rint(out * 255).astype(np.uint8))
    return with_alpha(result, alpha)
