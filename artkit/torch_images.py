"""Conversions between model tensors (float, (N, C, H, W), [-1, 1]) and 8-bit images.

Imported lazily by commands that already need torch.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [-1, 1] -> (N, H, W, C) uint8, rounded (not truncated)."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def from_uint8(array: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [-1, 1]."""
    return array.float().div_(127.5).sub_(1.0)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    arrays = to_uint8(images)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[arrays.shape[-1]]
    return [Image.fromarray(a[..., 0] if mode == "L" else a, mode) for a in arrays]


def pil_to_tensor(images: list[Image.Image], channels: int) -> torch.Tensor:
    """PIL images (same size) -> (N, C, H, W) float in [-1, 1]."""
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    arrays = [
        np.asarray(im.convert(mode), dtype=np.uint8).reshape(im.height, im.width, channels)
        for im in images
    ]
    return from_uint8(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))
