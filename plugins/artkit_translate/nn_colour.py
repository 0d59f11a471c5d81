"""Exact sRGB <-> CIE Lab (D65) in torch, and the colour error used to judge colourisation.

The formulas are the standard ones (IEC 61966-2-1 sRGB transfer curve, the sRGB
to XYZ matrix, CIE 1976 L*a*b* with the D65 white), evaluated in float32 on the
images' device; they agree with ``skimage.color.rgb2lab`` to within 0.01 (a test
checks it). Nothing here needs gradients -- the colourisation model predicts
a*b* and is compared with a*b* -- but every function is safe to differentiate
(the cube and power roots are taken of clamped values).

Scaling used by the model: ``L / 50 - 1`` and ``ab / AB_SCALE`` map Lab to
about [-1, 1], like every other image tensor in artkit.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: a* and b* of sRGB colours lie within about +-110; dividing maps them into [-1, 1]
AB_SCALE = 110.0
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_DELTA = 6.0 / 29.0


def _matrix(rows: tuple[tuple[float, ...], ...], like: Tensor, *, inverse: bool = False) -> Tensor:
    m = torch.tensor(rows, dtype=torch.float64)
    if inverse:
        m = torch.linalg.inv(m)
    return m.to(device=like.device, dtype=like.dtype)


def _apply(m: Tensor, x: Tensor) -> Tensor:
    """Apply a 3x3 colour matrix to (N, 3, H, W)."""
    return torch.einsum("ij,njhw->nihw", m, x)


def _white(like: Tensor) -> Tensor:
    return torch.tensor(_WHITE_D65, device=like.device, dtype=like.dtype).view(1, 3, 1, 1)


def srgb_to_linear(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(1e-12) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB (N, 3, H, W) in [0, 1] -> Lab (N, 3, H, W): L in [0, 100], a* and b* about +-110."""
    rgb = rgb.float()
    xyz = _apply(_matrix(_RGB_TO_XYZ, rgb), srgb_to_linear(rgb)) / _white(rgb)
    f = torch.where(
        xyz > _DELTA**3,
        xyz.clamp_min(_DELTA**3) ** (1 / 3),
        xyz / (3 * _DELTA**2) + 4 / 29,
    )
    fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
    return torch.cat([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Lab (N, 3, H, W) -> sRGB in [0, 1]; colours outside the sRGB gamut are clipped."""
    lab = lab.float()
    fy = (lab[:, 0:1] + 16) / 116
    f = torch.cat([fy + lab[:, 1:2] / 500, fy, fy - lab[:, 2:3] / 200], dim=1)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _white(lab)
    return linear_to_srgb(_apply(_matrix(_RGB_TO_XYZ, lab, inverse=True), xyz))


# -- in artkit's [-1, 1] image convention ------------------------------------------------


def images_to_lab(images: Tensor) -> Tensor:
    """RGB images in [-1, 1] -> Lab (unscaled)."""
    return rgb_to_lab(images.float().add(1).mul(0.5))


def lab_to_images(lab: Tensor) -> Tensor:
    """Lab (unscaled) -> RGB images in [-1, 1]."""
    return lab_to_rgb(lab).mul(2).sub(1)


def lightness(images: Tensor) -> Tensor:
    """RGB images in [-1, 1] -> their L channel scaled to [-1, 1] (N, 1, H, W): the model's input."""
    return images_to_lab(images)[:, :1] / 50 - 1


def greyscale(images: Tensor) -> Tensor:
    """RGB images in [-1, 1] -> the same lightness with no colour (a* = b* = 0), RGB in [-1, 1].

    This is "the black-and-white photo" a colourisation starts from, and the baseline
    its colour error is compared with.
    """
    lab = images_to_lab(images)
    return lab_to_images(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], dim=1))


def delta_e(a: Tensor, b: Tensor) -> Tensor:
    """CIE76 colour difference between two RGB batches in [-1, 1], per pixel (N, H, W)."""
    return (images_to_lab(a) - images_to_lab(b)).square().sum(1).sqrt()


def fit_channels(images: Tensor, channels: int) -> Tensor:
    """Images in [-1, 1] with 1, 3 or 4 channels -> ``channels`` (1, 3 or 4), as Pillow converts.

    Alpha is composited onto white before it is dropped; RGB -> grey is the
    Rec. 601 luma Pillow's ``convert("L")`` uses; grey -> RGB repeats the channel;
    an added alpha channel is opaque.
    """
    have = images.shape[1]
    if have == channels:
        return images
    x = images
    if have == 4:  # composite onto white in [0, 1] terms
        alpha = x[:, 3:4].add(1).mul(0.5)
        x = (x[:, :3] * alpha + (1 - alpha)).clamp(-1, 1)
        have = 3
    if channels == 1 and have == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
        return (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    if have == 1 and channels in (3, 4):
        x = x.expand(-1, 3, -1, -1)
    if channels == 4:
        return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
    return x.contiguous() if channels == 3 else x
