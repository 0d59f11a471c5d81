"""Drawing one crop of a picture at the training resolution: the step every picture dataset shares.

``single-image`` (many seeded crops of one picture) and ``samples`` (crops of the
bundled photos) both draw with this, so the same box gives the same pixels in
both and neither dataset module imports the other.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from artkit.config_checks import image_size

_TURNS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


def render_crop(
    im: Image.Image,
    box: tuple[int, int, int, int],
    resolution: int | str | tuple[int, int],
    channels: int,
    *,
    mirror: bool = False,
    flip: bool = False,
    turns: int = 0,
) -> Any:
    """``box`` of ``im`` resized to ``resolution`` (Lanczos), mirrored / flipped / turned,
    as a uint8 array ``(H, W, channels)``. ``im`` must already be in the dataset's mode.

    A non-square ``resolution`` (``"32x64"``) keeps the middle of the (square) box at
    the target's aspect -- on its side when the crop is then turned a quarter -- so a
    square target draws exactly what it always drew.
    """
    import numpy as np

    h, w = image_size(resolution)
    th, tw = (w, h) if turns % 2 else (h, w)  # drawn on its side, then turned upright
    out = im.resize(
        (tw, th), Image.Resampling.LANCZOS, box=_inner_box(box, th, tw), reducing_gap=2.0
    )
    if mirror:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if flip:
        out = out.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    turn = _TURNS[turns % 4]
    if turn is not None:
        out = out.transpose(turn)
    return np.asarray(out, dtype=np.uint8).reshape(h, w, channels)


def _inner_box(box: tuple[int, int, int, int], h: int, w: int) -> tuple[float, ...]:
    """The largest centred part of ``box`` with the aspect ``w / h`` (``box`` itself if it has it)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    if bw * h == bh * w:
        return box
    if bw * h > bh * w:  # too wide: keep the full height
        cut = (bw - bh * w / h) / 2
        return (x0 + cut, y0, x1 - cut, y1)
    cut = (bh - bw * h / w) / 2
    return (x0, y0 + cut, x1, y1 - cut)
