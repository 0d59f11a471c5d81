"""Minibatch standard deviation: one more feature map telling D how varied a batch is.

Progressive GAN (Karras et al. 2018, section 3): D sees, beside each image's own
features, the standard deviation of those features across a small group of images,
averaged to one number per group and appended as a constant channel. A generator
that draws too few kinds of picture makes groups of low spread, which D can then
tell from real groups; so G is paid for variety, not only for each picture.

Groups are *contiguous* rows (rows 0-3, 4-7, ...), unlike the paper's strided
ones: artkit's discriminators judge a real batch and a fake batch in one call
(``cat([real, fake])``), and a group must never hold both. With ``n`` real rows
and the group size dividing ``n`` no group straddles the seam; the size used is
the largest divisor of the batch up to ``group`` (a batch of 1 gets spread 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from artkit.nn.layout import layout_of


def group_size(batch: int, group: int) -> int:
    """The group size used for ``batch`` rows: the largest divisor of ``batch`` up to ``group``."""
    for size in range(min(group, batch), 0, -1):
        if batch % size == 0:
            return size
    return 1


def minibatch_std(x: Tensor, group: int) -> Tensor:
    """``x`` (N, C, H, W) with one channel more: each row's group's mean feature spread.

    Computed in float32 (bf16 variances of near-equal features round to zero), and in
    ``x``'s own memory layout: the first version (``var``, ``repeat_interleave``, a
    channels-first ``cat``) took 10.6 ms forward and back on fastgan's 128 x 48 x 8 x 8
    in bf16 on 2 CPU cores (placed on D's 4x4 features it took the recipe's probe of a
    glyph step from 13.0 to 11.2 steps/s); this one 3.9 ms.
    """
    n, _, h, w = x.shape
    size = group_size(n, group)
    last = layout_of(x) == torch.channels_last
    rows = x.permute(0, 2, 3, 1) if last else x  # a view: the order the data is stored in
    y = rows.float().reshape(n // size, size, -1)
    centred = y - y.mean(dim=1, keepdim=True)
    spread = (centred.square().mean(dim=1) + 1e-8).sqrt().mean(dim=1)  # (N / size,)
    stat = spread.to(x.dtype).view(-1, 1, 1).expand(n // size, size, h * w)
    if last:
        return torch.cat([rows, stat.reshape(n, h, w, 1)], dim=3).permute(0, 3, 1, 2)
    return torch.cat([x, stat.reshape(n, 1, h, w)], dim=1)
