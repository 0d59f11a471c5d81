"""Steps that change colours but not geometry: grade, posterize, greyscale, sepia, invert, flatten.

All of them are Pillow-only (no numpy) and keep alpha as it is, except flatten,
whose job is to remove it.
"""

from __future__ import annotations

from PIL import Image, ImageEnhance, ImageOps

from artkit_post.base import has_alpha, normalize, on_colour, parse_colour, split_alpha, step
from artkit_post.configs import (
    FlattenConfig,
    GradeConfig,
    GreyscaleConfig,
    InvertConfig,
    PosterizeConfig,
    SepiaConfig,
)

# The classic sepia matrix (rows: output R, G, B), in Pillow's 12-number layout.
_SEPIA = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)


@step(GradeConfig)
def grade(image: Image.Image, cfg: GradeConfig) -> Image.Image:
    def apply(im: Image.Image) -> Image.Image:
        if cfg.brightness != 1:
            im = ImageEnhance.Brightness(im).enhance(cfg.brightness)
        if cfg.contrast != 1:
            im = ImageEnhance.Contrast(im).enhance(cfg.contrast)
        if im.mode == "RGB" and cfg.saturation != 1:
            im = ImageEnhance.Color(im).enhance(cfg.saturation)
        shift = round(cfg.hue / 360 * 256) % 256
        if im.mode == "RGB" and shift:
            h, s, v = im.convert("HSV").split()
            h = h.point([(i + shift) % 256 for i in range(256)])
            im = Image.merge("HSV", (h, s, v)).convert("RGB")
        if cfg.gamma != 1:
            lut = [round(255 * (i / 255) ** (1 / cfg.gamma)) for i in range(256)]
            im = im.point(lut * len(im.getbands()))
        return im if im is not image else im.copy()

    return on_colour(image, apply)


@step(PosterizeConfig)
def posterize(image: Image.Image, cfg: PosterizeConfig) -> Image.Image:
    return on_colour(image, lambda im: ImageOps.posterize(im, cfg.bits))


@step(GreyscaleConfig)
def greyscale(image: Image.Image, cfg: GreyscaleConfig) -> Image.Image:
    return on_colour(image, lambda im: im.convert("L"))


@step(SepiaConfig)
def sepia(image: Image.Image, cfg: SepiaConfig) -> Image.Image:
    def apply(im: Image.Image) -> Image.Image:
        rgb = im.convert("RGB")
        toned = rgb.convert("RGB", _SEPIA)
        return toned if cfg.strength >= 1 else Image.blend(rgb, toned, cfg.strength)

    return on_colour(image, apply)


@step(InvertConfig)
def invert(image: Image.Image, cfg: InvertConfig) -> Image.Image:
    return on_colour(image, ImageOps.invert)


@step(FlattenConfig)
def flatten(image: Image.Image, cfg: FlattenConfig) -> Image.Image:
    im = normalize(image)
    if not has_alpha(im):
        return im.copy() if im is image else im
    r, g, b, _ = parse_colour(cfg.NAME, "color", cfg.color)
    base, alpha = split_alpha(im)
    grey = r == g == b and base.mode == "L"
    mode = "L" if grey else "RGB"
    background = Image.new(mode, im.size, r if grey else (r, g, b))
    background.paste(base.convert(mode), (0, 0), alpha)
    return background
