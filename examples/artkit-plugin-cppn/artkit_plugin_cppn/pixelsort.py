"""``pixelsort``: the glitch-art classic, as a PIL -> PIL post-processor (numpy, no torch).

In every row (or column) the pixels whose brightness lies in ``[lo, hi]`` form runs;
each run is sorted by brightness, the rest of the picture stays put. Alpha travels
with its pixel. Size is kept; so is the mode for L, LA, RGB and RGBA (palette images come back RGB).
"""

from __future__ import annotations

from typing import Any

from PIL import Image


def pixelsort(
    image: Image.Image,
    lo: float = 0.25,
    hi: float = 0.8,
    direction: str = "horizontal",
    reverse: bool = False,
) -> Image.Image:
    import numpy as np

    mode = image.mode
    work = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    pixels = np.asarray(work).copy()
    if direction == "vertical":
        pixels = pixels.transpose(1, 0, 2).copy()
    rgb = pixels[..., :3].astype(np.float32)
    brightness = (rgb @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0
    inside = (brightness >= lo) & (brightness <= hi)
    for row in range(pixels.shape[0]):
        _sort_runs(pixels[row], brightness[row], inside[row], reverse)
    if direction == "vertical":
        pixels = pixels.transpose(1, 0, 2)
    out = Image.fromarray(np.ascontiguousarray(pixels), work.mode)
    # back to the input's mode when that is lossless (a palette image stays RGB)
    return out.convert(mode) if mode in ("L", "LA") else out


def _sort_runs(row: Any, key: Any, inside: Any, reverse: bool) -> None:
    import numpy as np

    edges = np.flatnonzero(np.diff(np.concatenate(([0], inside.view(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < 2:
            continue
        order = np.argsort(key[start:stop], kind="stable")
        if reverse:
            order = order[::-1]
        row[start:stop] = row[start:stop][order]
