"""Translate large images tile by tile: overlapping windows blended with feathered weights.

A fully convolutional network can take a whole photo at once, but memory grows
with the area (a U-Net at 64 channels holds about 1 GB of activations per
megapixel in float32). Tiling bounds it: the image is cut into overlapping
windows of at most ``tile`` pixels a side (sized to the network's multiple, so
no tile needs padding inside the image), each window is translated on its own,
and the results are blended. Each tile's weight ramps linearly from ~0 to 1
across the part it shares with a neighbour, so two neighbours cross-fade and
no edge of a tile shows as a seam; the blend is normalised by the summed weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def spans(n: int, tile: int, overlap: int, multiple: int = 1) -> list[tuple[int, int]]:
    """The fewest equal windows ``(start, end)`` of at most ~``tile`` covering ``range(n)``.

    Neighbours share at least ``overlap`` pixels; window sizes are rounded up to
    ``multiple`` (never beyond ``n``); windows are evenly spaced, the first at 0
    and the last ending at ``n``.
    """
    if n <= tile:
        return [(0, n)]
    count = math.ceil((n - overlap) / (tile - overlap))
    size = math.ceil((n + (count - 1) * overlap) / count)
    size = min(n, math.ceil(size / multiple) * multiple)
    starts = [round(i * (n - size) / (count - 1)) for i in range(count)]
    return [(a, a + size) for a in starts]


def _ramp(windows: list[tuple[int, int]], index: int, device: torch.device) -> Tensor:
    """1-D weights of window ``index``: rising over the overlap with the previous window, falling into the next."""
    start, end = windows[index]
    w = torch.ones(end - start, device=device)
    if index > 0:
        shared = windows[index - 1][1] - start
        if shared > 0:
            w[:shared] = torch.minimum(
                w[:shared], (torch.arange(shared, device=device) + 0.5) / shared
            )
    if index + 1 < len(windows):
        shared = end - windows[index + 1][0]
        if shared > 0:
            fall = (torch.arange(shared, device=device).flip(0) + 0.5) / shared
            w[-shared:] = torch.minimum(w[-shared:], fall)
    return w


def run_tiled(
    fn: Callable[[Tensor], Tensor],
    image: Tensor,
    *,
    tile: int,
    overlap: int,
    multiple: int = 1,
) -> Tensor:
    """Apply ``fn`` ((1, C, h, w) -> (1, C', h, w)) to ``image`` (1, C, H, W) window by window."""
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap})")
    _, _, height, width = image.shape
    rows = spans(height, tile, overlap, multiple)
    cols = spans(width, tile, overlap, multiple)
    out: Tensor | None = None
    weight = torch.zeros(1, 1, height, width, device=image.device)
    for r, (top, bottom) in enumerate(rows):
        wy = _ramp(rows, r, image.device)
        for c, (left, right) in enumerate(cols):
            wx = _ramp(cols, c, image.device)
            piece = fn(image[:, :, top:bottom, left:right]).float()
            if out is None:
                out = torch.zeros(1, piece.shape[1], height, width, device=image.device)
            w = (wy[:, None] * wx[None, :])[None, None]
            out[:, :, top:bottom, left:right] += piece * w
            weight[:, :, top:bottom, left:right] += w
    assert out is not None
    return out / weight
