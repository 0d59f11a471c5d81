"""Drawing one crop of a picture at the training resolution: the step every picture dataset shares.

``single-image`` (many seeded crops of one picture) and ``samples`` (crops of the
bundled photos) both draw with this, so the same box gives the same pixels in
both and neither dataset module imports the other.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

_TURNS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


def render_crop(
    im: Image.Image,
    box: tuple[int, int, int, int],
    resolution: int,
    channels: int,
    *,
    mirror: bool = False,
    flip: bool = False,
    turns: int = 0,
) -> Any:
    """``box`` of ``im`` resized to ``resolution`` (Lanczos), mirrored / flipped / turned,
    as a uint8 array ``(R, R, channels)``. ``im`` must already be in the dataset's mode."""
    import numpy as np

    r = resolution
    out = im.resize((r, r), Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
    if mirror:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if flip:
        out = out.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    turn = _TURNS[turns % 4]
    if turn is not None:
        out = out.transpose(turn)
    return np.asarray(out, dtype=np.uint8).reshape(r, r, channels)
