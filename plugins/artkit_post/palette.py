"""The palette step: reduce an image to N colours, or to the colours of a palette file.

Colours are chosen from a fixed pseudo-random sample of 20,000 pixels (so the result
is deterministic) by k-means (Lloyd's iterations started from Pillow's median cut)
or by median cut alone; an image that already has at most N colours keeps them exactly.
Pixels are then mapped to their nearest palette colour exactly (numpy), with an
8x8 Bayer threshold added first for ``dither=ordered``; ``dither=floyd`` uses
Pillow's Floyd-Steinberg error diffusion.

The result is a palette (``P``) image, or ``RGBA`` when the input had alpha (the
alpha band is kept as it was; fully transparent pixels do not vote for colours).

Palette files (``file=``) are read by :mod:`artkit_post.palette_files`.
"""

from __future__ import annotations

import math

from PIL import Image

from artkit_post.base import split_alpha, step
from artkit_post.configs import PaletteConfig
from artkit_post.palette_files import read_palette_file

#: Pixels sampled to choose colours from (a fixed-seed sample: deterministic).
SAMPLE = 20_000
KMEANS_ITERATIONS = 12
_CHUNK = 1 << 16


# --------------------------------------------------------------------------- choosing colours


def nearest(pixels, colours):
    """Index of the nearest colour (squared RGB distance, exact) for each of ``pixels`` (N, 3)."""
    import numpy as np

    pal = colours.astype(np.float32)
    bias = (pal * pal).sum(axis=1)
    out = np.empty(len(pixels), dtype=np.intp)
    for start in range(0, len(pixels), _CHUNK):
        x = pixels[start : start + _CHUNK].astype(np.float32)
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change the argmin. Every
        # term is an integer below 2^24, so float32 arithmetic is exact here.
        if len(pal) <= 32:  # small palettes: plain broadcasting beats a BLAS call
            dots = x[:, 0:1] * pal[:, 0] + x[:, 1:2] * pal[:, 1] + x[:, 2:3] * pal[:, 2]
        else:
            dots = x @ pal.T
        out[start : start + _CHUNK] = np.argmin(bias - 2 * dots, axis=1)
    return out


def median_cut(pixels, k: int):
    """Up to ``k`` colours by Pillow's median cut over ``pixels`` (N, 3) uint8."""
    import numpy as np

    strip = Image.frombytes("RGB", (len(pixels), 1), np.ascontiguousarray(pixels).tobytes())
    reduced = strip.quantize(colors=k, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    found = reduced.convert("RGB").getcolors(maxcolors=256) or []
    return np.array(sorted(c for _, c in found), dtype=np.uint8).reshape(-1, 3)


def sample(pixels):
    """At most :data:`SAMPLE` of ``pixels``, drawn with a fixed seed (deterministic)."""
    import numpy as np

    if len(pixels) <= SAMPLE:
        return pixels
    return pixels[np.random.default_rng(0).integers(0, len(pixels), SAMPLE)]


def kmeans(pixels, k: int):
    """Up to ``k`` colours by k-means over ``pixels`` (N, 3) uint8, started from median cut."""
    import numpy as np

    centres = median_cut(pixels, k).astype(np.float64)
    x = pixels.astype(np.float64)
    for _ in range(KMEANS_ITERATIONS):
        labels = nearest(pixels, np.rint(centres))
        counts = np.bincount(labels, minlength=len(centres)).astype(np.float64)
        sums = np.stack(
            [np.bincount(labels, weights=x[:, c], minlength=len(centres)) for c in range(3)],
            axis=1,
        )
        used = counts > 0
        moved = centres.copy()
        moved[used] = sums[used] / counts[used, None]
        done = np.abs(moved - centres).max() < 0.5
        centres = moved
        if done:
            break
    colours = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
    return np.unique(colours, axis=0)


# --------------------------------------------------------------------------- mapping

# The 8x8 Bayer matrix, as thresholds in [-0.5, 0.5).
_BAYER2 = ((0, 2), (3, 1))


def _bayer(n: int = 8):
    import numpy as np

    m = np.array(_BAYER2)
    while len(m) < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size - 0.5


def _spread(colours) -> float:
    """Per-channel step between neighbouring palette colours (the ordered-dither amplitude)."""
    import numpy as np

    if len(colours) < 2:
        return 0.0
    c = colours.astype(np.float64)
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(axis=1)) / math.sqrt(3))


def _paletted(indices, size: tuple[int, int], colours) -> Image.Image:
    import numpy as np

    out = Image.frombytes("P", size, indices.astype(np.uint8).tobytes())
    out.putpalette(colours.astype(np.uint8).tobytes())
    return out


def apply_palette(rgb: Image.Image, colours, dither: str) -> Image.Image:
    """``rgb`` (mode RGB) mapped onto ``colours`` (K, 3) uint8 as a P image."""
    import numpy as np

    w, h = rgb.size
    if dither == "floyd":
        # Pillow's palette lookup: pad the palette with copies of the first colour so
        # no unused (black) entry can be chosen, then fold those copies back onto it.
        pal = Image.new("P", (1, 1))
        padded = np.concatenate([colours, np.repeat(colours[:1], 256 - len(colours), axis=0)])
        pal.putpalette(padded.astype(np.uint8).tobytes())
        q = rgb.quantize(palette=pal, dither=Image.Dither.FLOYDSTEINBERG)
        idx = np.asarray(q).copy()
        idx[idx >= len(colours)] = 0
        return _paletted(idx, (w, h), colours)
    arr = np.asarray(rgb)
    if dither == "ordered":
        threshold = _bayer()
        ty = np.arange(h) % len(threshold)
        tx = np.arange(w) % len(threshold)
        offset = threshold[ty[:, None], tx[None, :]] * _spread(colours)
        arr = np.clip(np.rint(arr + offset[..., None]), 0, 255).astype(np.uint8)
    idx = nearest(arr.reshape(-1, 3), colours)
    return _paletted(idx.reshape(h, w), (w, h), colours)


@step(PaletteConfig)
def palette(image: Image.Image, cfg: PaletteConfig) -> Image.Image:
    import numpy as np

    base, alpha = split_alpha(image)
    rgb = base.convert("RGB")
    if cfg.file:
        colours = np.array(read_palette_file(cfg.file), dtype=np.uint8).reshape(-1, 3)
    elif (few := rgb.getcolors(maxcolors=cfg.colors)) is not None:
        colours = np.array(sorted(c for _, c in few), dtype=np.uint8).reshape(-1, 3)
    else:
        pixels = np.asarray(rgb).reshape(-1, 3)
        if alpha is not None:
            visible = np.asarray(alpha).reshape(-1) > 0
            if visible.any():
                pixels = pixels[visible]
        choose = kmeans if cfg.method == "kmeans" else median_cut
        colours = choose(sample(pixels), cfg.colors)
    out = apply_palette(rgb, colours, cfg.dither)
    if alpha is None:
        return out
    result = out.convert("RGBA")
    result.putalpha(alpha)
    return result
