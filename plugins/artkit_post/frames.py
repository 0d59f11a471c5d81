"""Steps that put something around the picture: border and frame."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageOps

from artkit_post.base import check_pixels, fill_for, parse_colour, promote, step
from artkit_post.configs import BorderConfig, FrameConfig


@step(BorderConfig)
def border(image: Image.Image, cfg: BorderConfig) -> Image.Image:
    colour = parse_colour(cfg.NAME, "color", cfg.color)
    im = promote(image, colour)
    check_pixels(cfg.NAME, (im.width + 2 * cfg.width, im.height + 2 * cfg.width))
    if cfg.width == 0:
        return im.copy() if im is image else im
    return ImageOps.expand(im, border=cfg.width, fill=fill_for(im.mode, colour))


def _toward(
    colour: tuple[int, int, int, int], target: int, amount: float
) -> tuple[int, int, int, int]:
    r, g, b, a = colour

    def mix(c: int) -> int:
        return round(c + (target - c) * amount)

    return (mix(r), mix(g), mix(b), a)


@step(FrameConfig)
def frame(image: Image.Image, cfg: FrameConfig) -> Image.Image:
    colour = parse_colour(cfg.NAME, "color", cfg.color)
    light, dark = _toward(colour, 255, cfg.shade), _toward(colour, 0, cfg.shade)
    im = promote(image, light)
    im = promote(im, dark)
    b = cfg.width
    size = (im.width + 2 * b, im.height + 2 * b)
    check_pixels(cfg.NAME, size)
    out = Image.new(im.mode, size, fill_for(im.mode, dark))
    right, bottom = size[0] - 1, size[1] - 1
    draw = ImageDraw.Draw(out)
    # Lit from the top left: the top and left bevels are light, mitred at the corners.
    draw.polygon(
        [(0, 0), (right, 0), (right - b, b), (b, bottom - b), (0, bottom)],
        fill=fill_for(im.mode, light),
    )
    out.paste(im, (b, b))
    return out
