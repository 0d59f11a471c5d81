"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Shared by every adversarial model (``--augment``): the GAN family augments images,
pix2pix augments (input, output) pairs stacked on the channel axis at once.

Apply the same policy to every image the discriminator sees, real and fake, in
both the D and the G step; the ops are differentiable so G learns through them.
All the randomness of one call is a single ``torch.rand`` draw of shape (N, 7)
from ``generator`` (which must live on ``x``'s device): a seeded generator gives
identical output, and ``torch.compile`` meets one random call, not seven.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from artkit.errors import UsageError

#: the ops ``--augment`` takes; a policy applies them in the order it lists them
DIFFAUGMENT_OPS: tuple[str, ...] = ("color", "translation", "cutout")


def parse_policy(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")``; unknown ops are a UsageError.

    ``""``, ``"none"`` and ``None`` mean no augmentation. ``colour`` is accepted for ``color``.
    """
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    ops: list[str] = []
    for part in parts:
        op = part.strip().lower().replace("colour", "color")
        if not op or op == "none":
            continue
        if op not in DIFFAUGMENT_OPS:
            known = ", ".join(DIFFAUGMENT_OPS)
            raise UsageError(f"unknown DiffAugment op {part.strip()!r}; known: {known}")
        if op not in ops:
            ops.append(op)
    return tuple(ops)


def _per_image(u: Tensor, x: Tensor) -> Tensor:
    """A column of uniforms (N,) as (N, 1, 1, 1) in x's dtype."""
    return u.to(x.dtype).view(-1, 1, 1, 1)


def _randint(u: Tensor, low: int, high: int) -> Tensor:
    """Uniform integers in [low, high) from uniforms in [0, 1), shape (N, 1)."""
    return (u * (high - low)).long().clamp(max=high - low - 1).add(low).view(-1, 1)


def _color(x: Tensor, u: Tensor) -> Tensor:
    """Random brightness, saturation (RGB only) and contrast; alpha is left alone."""
    rgb = x[:, :3]
    rgb = rgb + (_per_image(u[:, 0], rgb) - 0.5)
    if rgb.shape[1] == 3:
        mean = rgb.mean(dim=1, keepdim=True)
        rgb = (rgb - mean) * (_per_image(u[:, 1], rgb) * 2) + mean
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = (rgb - mean) * (_per_image(u[:, 2], rgb) + 0.5) + mean
    return torch.cat([rgb, x[:, 3:]], dim=1) if x.shape[1] > 3 else rgb


def _translation(x: Tensor, u: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros."""
    n, _, h, w = x.shape
    dy, dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty, tx = _randint(u[:, 0], -dy, dy + 1), _randint(u[:, 1], -dx, dx + 1)
    # Index into a 1-pixel zero border; anything shifted in from outside reads the border.
    rows = (torch.arange(h, device=x.device) + ty + 1).clamp(0, h + 1)  # (N, H)
    cols = (torch.arange(w, device=x.device) + tx + 1).clamp(0, w + 1)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = F.pad(x, (1, 1, 1, 1))[batch, :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


def _cutout(x: Tensor, u: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a random rectangle ``ratio`` of the image's sides (a half-size square) per image."""
    _, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy, cx = _randint(u[:, 0], 0, h + 1 - ch % 2), _randint(u[:, 1], 0, w + 1 - cw % 2)
    ys = torch.arange(h, device=x.device) - (cy - ch // 2)  # (N, H): row inside the rectangle
    xs = torch.arange(w, device=x.device) - (cx - cw // 2)
    inside = ((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :]
    return x * (~inside).to(x.dtype)[:, None]


#: op name -> (function, the columns of the (N, 7) uniform draw it reads)
OPS: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], slice]] = {
    "color": (_color, slice(0, 3)),
    "translation": (_translation, slice(3, 5)),
    "cutout": (_cutout, slice(5, 7)),
}


def diff_augment(
    x: Tensor,
    policy: str | Sequence[str] = "color,translation,cutout",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Augment a batch ``(N, C, H, W)`` with the comma-separated ``policy`` ops, in order.

    Works for 1 (colour without saturation), 3 and 4 channels (colour on RGB only).
    """
    ops = parse_policy(policy if isinstance(policy, str) else tuple(policy))
    if not ops:
        return x
    u = torch.rand(x.shape[0], 7, generator=generator, device=x.device)
    for op in ops:
        fn, cols = OPS[op]
        x = fn(x, u[:, cols])
    return x
