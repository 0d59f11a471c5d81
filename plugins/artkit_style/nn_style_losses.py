"""Style-transfer losses: Gram matrices, content, style and total-variation losses.

The losses are *normalised*: each layer's error is divided by its target's energy,
so a loss of 1 means "as far from the target as zero features would be" whatever
the layer's width or the image size. With content weight 1, a good style weight
depends on the extractor (``FeatureExtractor.default_style_weight``: 500 for
random-multiscale, 30 for VGG; see :mod:`artkit_style.configs`); the TV weight
(default 5) is relative to the squared pixel differences of an image in ``[-1, 1]``.

- ``gram(F)`` is ``F F^T / (C H W)`` per sample, in float32;
- ``content_loss = mean_l  |F_l - T_l|^2 / |T_l|^2``   (per sample, then batch mean);
- ``style_loss   = sum_l w_l |G_l - S_l|^2 / |S_l|^2`` with ``w_l`` summing to 1
  (equal by default);
- ``tv_loss = mean (dx^2) + mean (dy^2)`` of the image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from artkit_style.configs import (  # re-exported for convenience
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
)

__all__ = [
    "DEFAULT_CONTENT_WEIGHT",
    "DEFAULT_STYLE_WEIGHT",
    "DEFAULT_TV_WEIGHT",
    "content_loss",
    "gram",
    "resize_longest",
    "style_loss",
    "style_targets",
    "tv_loss",
]


_EPS = 1e-8


def gram(features: Tensor) -> Tensor:
    """``(N, C, H, W) -> (N, C, C)``: ``F F^T / (C H W)`` per sample, computed in float32."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def _relative(diff_sq_sum: Tensor, target_sq_sum: Tensor) -> Tensor:
    return diff_sq_sum / (target_sq_sum + _EPS)


def content_loss(
    features: Mapping[str, Tensor], target: Mapping[str, Tensor], layers: Sequence[str]
) -> Tensor:
    """Mean over ``layers`` of ``|F - T|^2 / |T|^2`` (per sample, then averaged over the batch).

    ``target`` tensors have the features' shape, or batch size 1 (broadcast).
    """
    layers = [layers] if isinstance(layers, str) else list(layers)
    total = None
    for name in layers:
        f = features[name].float()
        t = target[name].float()
        t = t.expand_as(f) if t.shape[0] == 1 and f.shape[0] != 1 else t
        diff = (f - t).pow(2).flatten(1).sum(1)
        energy = t.pow(2).flatten(1).sum(1)
        term = _relative(diff, energy).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("content_loss needs at least one layer")
    return total / len(layers)


def style_loss(
    features: Mapping[str, Tensor],
    target_grams: Mapping[str, Tensor],
    layers: Sequence[str],
    layer_weights: Sequence[float] | Mapping[str, float] | None = None,
) -> Tensor:
    """``sum_l w_l |gram(F_l) - S_l|^2 / |S_l|^2``; weights default to equal and are normalised to sum 1.

    ``target_grams[l]`` is ``(C, C)`` or ``(1 | N, C, C)`` (see :func:`style_targets`).
    """
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise ValueError("style_loss needs at least one layer")
    if layer_weights is None:
        weights = [1.0] * len(layers)
    elif isinstance(layer_weights, Mapping):
        weights = [float(layer_weights.get(name, 0.0)) for name in layers]
    else:
        weights = [float(w) for w in layer_weights]
        if len(weights) != len(layers):
            raise ValueError(f"{len(layers)} style layers but {len(weights)} layer weights")
    norm = sum(weights) or 1.0
    total = None
    for name, weight in zip(layers, weights, strict=True):
        if weight == 0:
            continue
        g = gram(features[name])
        s = target_grams[name].float()
        if s.dim() == 2:
            s = s.unsqueeze(0)
        diff = (g - s).pow(2).flatten(1).sum(1)
        energy = s.pow(2).flatten(1).sum(1)
        term = (weight / norm) * _relative(diff, energy).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("style_loss: every layer weight is zero")
    return total


def tv_loss(images: Tensor) -> Tensor:
    """Total variation: ``mean(dx^2) + mean(dy^2)`` over an ``(N, C, H, W)`` batch."""
    x = images.float()
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def resize_longest(image: Tensor, size: int) -> Tensor:
    """Resize ``(N, C, H, W)`` (or ``(C, H, W)``) so its longer side is ``size`` (antialiased)."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    h, w = image.shape[-2:]
    scale = size / max(h, w)
    if scale == 1:
        return image
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(image, size=new, mode="bilinear", antialias=True, align_corners=False)


def style_targets(
    extractor: torch.nn.Module,
    style_images: Sequence[Tensor],
    weights: Sequence[float] | None,
    layers: Sequence[str],
    size: int,
) -> dict[str, Tensor]:
    """The weighted blend of several styles' Gram matrices: ``{layer: (1, C, C)}``.

    Each style image (``(3, H, W)`` or ``(1, 3, H, W)`` in ``[-1, 1]``) is resized so
    its longer side is ``size`` pixels (``size <= 0`` keeps it as it is); ``weights``
    (default equal) are normalised to sum 1. Computed without gradients.
    """
    if not style_images:
        raise ValueError("style_targets needs at least one style image")
    weights = [1.0] * len(style_images) if weights is None else [float(w) for w in weights]
    if len(weights) != len(style_images):
        raise ValueError(f"{len(style_images)} style images but {len(weights)} weights")
    total_weight = sum(weights)
    if not total_weight > 0:
        raise ValueError("style weights must add up to more than zero")
    layers = [layers] if isinstance(layers, str) else list(layers)
    param = next(iter(extractor.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    out: dict[str, Tensor] = {}
    with torch.no_grad():
        for image, weight in zip(style_images, weights, strict=True):
            x = image.unsqueeze(0) if image.dim() == 3 else image
            x = x.to(device=device, dtype=torch.float32)
            if size and size > 0:
                x = resize_longest(x, size)
            feats = extractor(x, layers)
            for name in layers:
                g = gram(feats[name]).mean(0, keepdim=True) * (weight / total_weight)
                out[name] = g if name not in out else out[name] + g
    return out
