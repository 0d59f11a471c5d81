"""Small, varied, real pictures made in code: test data that needs no files or downloads.

:func:`tiny_images` draws them; :func:`tiny_image_folder` writes them as a dataset
folder. Used by :mod:`artkit.conformance` and re-exported by :mod:`artkit.testing`.
Pillow only, imported inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def tiny_images(n: int = 4, size: int = 16, mode: str = "RGB", seed: int = 0) -> list[Any]:
    """``n`` small, varied, real pictures (gradients, discs, stripes) made in code."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    images = []
    for _ in range(n):
        im = Image.linear_gradient("L").resize((size, size)).rotate(rng.choice([0, 90, 180, 270]))
        im = Image.merge(
            "RGB", (im, im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), im.point(lambda v: 255 - v))
        )
        draw = ImageDraw.Draw(im)
        r = rng.randint(size // 6, size // 3)
        cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.randint(0, 255) for _ in "rgb")
        )
        for x in range(0, size, max(2, size // 4)):
            draw.line((x, 0, x, size // 4), fill=(255, 255, 255))
        images.append(im.convert(mode) if mode != "RGBA" else _with_alpha(im))
    return images


def _with_alpha(im: Any) -> Any:
    from PIL import Image

    alpha = Image.radial_gradient("L").resize(im.size).point(lambda v: 255 - v)
    out = im.convert("RGBA")
    out.putalpha(alpha)
    return out


def tiny_image_folder(
    folder: str | os.PathLike, n: int = 4, size: int = 24, mode: str = "RGB"
) -> Path:
    """Write :func:`tiny_images` as ``0.png``, ``1.png`` ... into ``folder``; returns it.

    A dataset in a second: ``artkit train MODEL --data folder:path=FOLDER``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(tiny_images(n, size, mode=mode)):
        image.save(folder / f"{i}.png")
    return folder
