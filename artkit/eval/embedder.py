"""The base of every evaluation extractor: images in [-1, 1] -> features (N, D).

Its own module so that the extractors (:mod:`artkit.eval.random_conv`,
:mod:`artkit.eval.inception`, :mod:`artkit.eval.features`) all build on it without
importing one another.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Embedder(nn.Module):
    """Base of the evaluation extractors: resize, then ``forward`` to (N, D)."""

    name = "?"
    standard_fid = False
    #: side of the square images ``forward`` sees, or ``(height, width)``
    input_size: int | tuple[int, int] = 64
    #: True: give this extractor images at their own size (it resizes them itself, as
    #: the reference implementation does); False: callers may pre-resize with Pillow
    native_input = False

    @property
    def label(self) -> str:
        """What a Fréchet distance in these features is called: FID only for the real thing."""
        return "FID" if self.standard_fid else f"FD ({self.name})"

    @staticmethod
    def to_rgb(images: Tensor) -> Tensor:
        """Grey expanded, RGBA without alpha; other channel counts (a medium's tracks, say
        two voices of a piano roll) averaged to grey, so picture features still apply."""
        channels = images.shape[1]
        if channels == 1:
            return images.expand(-1, 3, -1, -1)
        if channels in (3, 4):
            return images[:, :3] if channels == 4 else images
        return images.mean(1, keepdim=True).expand(-1, 3, -1, -1)

    @property
    def input_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the images ``forward`` sees."""
        size = self.input_size
        return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))

    def prepare(self, images: Tensor) -> Tensor:
        images = self.to_rgb(images)
        if tuple(images.shape[-2:]) != self.input_hw:
            images = F.interpolate(
                images, size=self.input_hw, mode="bilinear", align_corners=False, antialias=True
            )
        return images

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        return self(self.prepare(images.float())).float()


@torch.no_grad()
def feature_dimension(extractor: Any, device: Any) -> int:
    """How many features ``extractor.embed`` gives an image: one blank image through it."""
    height, width = extractor.input_hw
    blank = torch.zeros(1, 3, height, width, device=device)
    return int(extractor.embed(blank).shape[1])
