"""Grey pictures from an RGB or RGBA generator: one grey channel painted, copied to red, green, blue.

A generator trained on grey data (glyphs, MNIST, scans) with three colour channels
has to learn that they agree, pixel by pixel, and after a few CPU minutes it has
not quite: fastgan's 10-minute glyph samples carried tinted fringes (mean
|R - G| 2.6 of 255, some pixels 192). Turned grey after the fact, the same samples
scored random-conv FD 0.065 instead of 0.082 (median of three runs). A generator
that paints grey cannot tint, and spends no weights on colour: trained so, three
10-minute glyph runs scored 0.061-0.083 (median 0.067) on a day the textbook
DCGAN scored 0.116-0.188 (``benchmarks/quality.py --repeats 3``).

A generator builds its last layer for ``painted_channels(C, grey)`` channels and
passes what it painted through :func:`colour_from_grey`, which spreads grey (plus
alpha) back to ``C`` channels and leaves a full-colour picture as it is.
"""

from __future__ import annotations

import torch


def painted_channels(channels: int, grey: bool) -> int:
    """Channels a generator paints for a ``channels``-channel picture: all of them, or
    with ``grey`` one grey channel (two for RGBA: grey and alpha)."""
    if not grey or channels == 1:
        return channels
    return 2 if channels == 4 else 1


def colour_from_grey(painted: torch.Tensor, channels: int) -> torch.Tensor:
    """``(N, painted, H, W)`` -> ``(N, channels, H, W)``: grey into R, G and B, alpha kept;
    a picture that already has ``channels`` channels is returned as it is.

    A copy, not a broadcast view, so whoever gets the picture may write into it;
    gradients of the three channels sum into the grey one.
    """
    if painted.shape[1] == channels:
        return painted
    grey = painted[:, :1].repeat(1, 3, 1, 1)
    return grey if channels == 3 else torch.cat([grey, painted[:, 1:2]], dim=1)
