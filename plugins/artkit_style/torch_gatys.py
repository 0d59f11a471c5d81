"""Gatys et al. style transfer by optimisation, coarse to fine, tiled when large.

:func:`gatys` optimises the pixels of an image so that its features match the
content image's on the content layers and its Gram matrices match the (blended)
style images' on the style layers, with a total-variation regulariser
(:mod:`artkit_style.nn_style_losses`), using L-BFGS (default) or Adam.

- **Coarse to fine.** The output size is reached in stages that double: 512 is
  optimised at 256 first, upsampled, then refined at 512; 2048 goes 256, 512,
  1024, 2048. Each stage runs ``steps`` iterations (the coarse ones are 4x, 16x
  ... cheaper); the style images are resized with each stage, so brush strokes
  keep their size relative to the picture.
- **Tiles.** A stage larger than ``tile_above`` (1024) pixels is optimised in
  overlapping ``tile`` x ``tile`` windows (512, overlap 64) against the *global*
  style Gram matrices (computed from the whole style image, tile by tile) and the
  tile's own content features; each window starts from the picture as refined so
  far and is feathered in over its overlap, so memory stays bounded by the tile
  size whatever the output size.
- **Precision.** Always float32: L-BFGS's curvature estimates need it.

Colour preservation is done around this function (see :mod:`artkit_style.colour`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from artkit.errors import UsageError
from artkit_style.configs import DEFAULT_CONTENT_WEIGHT, DEFAULT_TV_WEIGHT, default_style_weight
from artkit_style.nn_style_losses import (
    content_loss,
    gram,
    resize_longest,
    style_loss,
    tv_loss,
)

__all__ = ["GatysOptions", "Progress", "gatys", "stage_sizes", "tile_boxes"]

#: ``progress(stage, done, total, losses)``: ``stage`` like ``"256px"`` or
#: ``"2048px tile 3/16"``, ``losses`` a dict with ``total, content, style, tv``.
Progress = Callable[[str, int, int, dict[str, float]], None]


@dataclass
class GatysOptions:
    """Settings of one Gatys optimisation (defaults are the CLI's)."""

    size: int = 512
    steps: int = 200
    content_weight: float = DEFAULT_CONTENT_WEIGHT
    style_weight: float | None = None  # None: the extractor's default_style_weight
    tv_weight: float = DEFAULT_TV_WEIGHT
    content_layers: Sequence[str] | None = None  # None: the extractor's defaults
    style_layers: Sequence[str] | None = None
    style_layer_weights: Sequence[float] | None = None
    init: str = "content"  # content | noise
    optimizer: str = "lbfgs"  # lbfgs | adam
    lr: float | None = None  # adam 0.02 ([-1, 1] pixel units), lbfgs 1.0
    style_scale: float = 1.0  # style image's longer side = stage size x this
    multiscale: bool = True
    min_size: int = 256  # the coarsest stage
    tile: int = 512
    overlap: int = 64
    tile_above: int = 1024
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def validate(self) -> None:
        if not (isinstance(self.size, int) and 16 <= self.size <= 16384):
            raise UsageError(f"--size {self.size!r}: use an integer from 16 to 16384")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise UsageError(f"--steps {self.steps!r}: use an integer >= 1")
        for name in ("content_weight", "tv_weight", "style_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise UsageError(f"--{name.replace('_', '-')} {value!r}: use a number >= 0")
        if self.style_weight is not None and not (
            math.isfinite(self.style_weight) and self.style_weight >= 0
        ):
            raise UsageError(f"--style-weight {self.style_weight!r}: use a number >= 0")
        if self.init not in ("content", "noise"):
            raise UsageError(f"--init {self.init!r}: use content or noise")
        if self.optimizer not in ("lbfgs", "adam"):
            raise UsageError(f"--optimizer {self.optimizer!r}: use lbfgs or adam")
        if self.tile < 64 or self.overlap < 0 or self.overlap * 2 >= self.tile:
            raise UsageError("tile must be >= 64 pixels and overlap less than half of it")


def stage_sizes(size: int, *, min_size: int = 256, multiscale: bool = True) -> list[int]:
    """The longer side at each stage: halve from ``size`` while above ``min_size``."""
    sizes = [size]
    while multiscale and sizes[-1] // 2 >= min_size:
        sizes.append(sizes[-1] // 2)
    return sizes[::-1]


def tile_boxes(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Overlapping ``(top, left, bottom, right)`` windows covering the image, in raster order.

    Per axis: the fewest windows of at most ``tile`` pixels that cover it with at least
    ``overlap`` pixels shared between neighbours, all the same size, evenly spaced
    (2048 px with tile 512 / overlap 64 gives 5 windows of 461).
    """

    def spans(n: int) -> list[tuple[int, int]]:
        if n <= tile:
            return [(0, n)]
        count = math.ceil((n - overlap) / (tile - overlap))
        size = math.ceil((n + (count - 1) * overlap) / count)
        starts = [round(i * (n - size) / (count - 1)) for i in range(count)]
        return [(a, a + size) for a in starts]

    return [(y0, x0, y1, x1) for y0, y1 in spans(height) for x0, x1 in spans(width)]


def _resize_to(image: Tensor, hw: tuple[int, int]) -> Tensor:
    if tuple(image.shape[-2:]) == hw:
        return image
    down = hw[0] < image.shape[-2]
    return F.interpolate(
        image, size=hw, mode="bilinear" if down else "bicubic", antialias=down, align_corners=False
    ).clamp(-1, 1)


def _stage_hw(content: Tensor, size: int) -> tuple[int, int]:
    h, w = content.shape[-2:]
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


@torch.no_grad()
def _gram_targets(
    extractor: torch.nn.Module,
    styles: Sequence[Tensor],
    weights: Sequence[float],
    layers: Sequence[str],
    size: int,
    *,
    tile: int,
    tile_above: int,
    device: torch.device,
) -> dict[str, Tensor]:
    """Blended Gram matrices of the styles at longer side ``size``, tile by tile when large.

    A Gram matrix is a sum over positions, so summing tiles' ``F F^T`` and dividing
    by the total count gives the whole image's Gram matrix (up to tile borders).
    """
    total = float(sum(weights))
    out: dict[str, Tensor] = {}
    for style, weight in zip(styles, weights, strict=True):
        x = style.unsqueeze(0) if style.dim() == 3 else style
        x = resize_longest(x.to(device=device, dtype=torch.float32), max(16, size)).clamp(-1, 1)
        h, w = x.shape[-2:]
        boxes = [(0, 0, h, w)] if max(h, w) <= tile_above else tile_boxes(h, w, tile, overlap=0)
        sums: dict[str, Tensor] = {}
        counts: dict[str, float] = dict.fromkeys(layers, 0.0)
        for top, left, bottom, right in boxes:
            feats = extractor(x[..., top:bottom, left:right], layers)
            for name in layers:
                f = feats[name]
                c, fh, fw = f.shape[1:]
                g = gram(f)[0] * (c * fh * fw)  # un-normalised F F^T
                sums[name] = g if name not in sums else sums[name] + g
                counts[name] += fh * fw
        for name in layers:
            c = sums[name].shape[0]
            g = (sums[name] / (c * counts[name])).unsqueeze(0) * (weight / total)
            out[name] = g if name not in out else out[name] + g
    return out


class _Objective:
    def __init__(self, extractor, content_targets, grams, opts: GatysOptions, style_weight: float):
        self.extractor = extractor
        self.content_targets = content_targets
        self.grams = grams
        self.opts = opts
        self.style_weight = style_weight
        self.content_layers = list(opts.content_layers or extractor.content_layers)
        self.style_layers = list(opts.style_layers or extractor.style_layers)
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        self.last: dict[str, float] = {}

    def __call__(self, x: Tensor) -> Tensor:
        opts = self.opts
        feats = self.extractor(x, self.layers)
        c = content_loss(feats, self.content_targets, self.content_layers)
        s = style_loss(feats, self.grams, self.style_layers, opts.style_layer_weights)
        t = tv_loss(x)
        loss = opts.content_weight * c + self.style_weight * s + opts.tv_weight * t
        self.last = {
            "total": float(loss.detach()),
            "content": float(c.detach()),
            "style": float(s.detach()),
            "tv": float(t.detach()),
        }
        return loss


def _optimise(
    x0: Tensor,
    objective: _Objective,
    steps: int,
    opts: GatysOptions,
    report: Callable[[int, dict[str, float]], None],
) -> Tensor:
    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    done = 0
    if opts.optimizer == "adam":
        optimiser = torch.optim.Adam([x], lr=opts.lr or 0.02)
        for _ in range(steps):
            optimiser.zero_grad(set_to_none=True)
            loss = objective(x)
            loss.backward()
            optimiser.step()
            with torch.no_grad():
                x.clamp_(-1, 1)
            done += 1
            report(done, objective.last)
        return x.detach()

    optimiser = torch.optim.LBFGS(
        [x],
        lr=opts.lr or 1.0,
        max_iter=steps,
        max_eval=steps + 1,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        history_size=50,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        nonlocal done
        optimiser.zero_grad(set_to_none=True)
        loss = objective(x)
        loss.backward()
        if done < steps:
            done += 1
            report(done, objective.last)
        return loss

    optimiser.step(closure)
    return x.detach().clamp(-1, 1)


def _feather(height: int, width: int, overlap: int, top: bool, left: bool, device) -> Tensor:
    """Alpha for writing a tile back: ramps 0 -> 1 over ``overlap`` on its top / left edges."""
    alpha = torch.ones(1, 1, height, width, device=device)
    if overlap <= 0:
        return alpha
    ramp = (torch.arange(overlap, device=device, dtype=torch.float32) + 0.5) / overlap
    if top and height > overlap:
        alpha[..., :overlap, :] *= ramp.view(1, 1, -1, 1)
    if left and width > overlap:
        alpha[..., :, :overlap] *= ramp.view(1, 1, 1, -1)
    return alpha


def gatys(
    content: Tensor,
    styles: Sequence[Tensor],
    style_weights: Sequence[float] | None,
    extractor: torch.nn.Module,
    opts: GatysOptions | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Stylise ``content`` ((1, 3, H, W) or (3, H, W), [-1, 1]); returns (1, 3, h, w) in [-1, 1].

    The result's longer side is ``opts.size``. ``styles`` are (3, H, W) or (1, 3, H, W)
    tensors in [-1, 1], blended by ``style_weights`` (default equal, normalised).
    """
    opts = opts or GatysOptions()
    opts.validate()
    if not styles:
        raise UsageError("gatys needs at least one style image")
    weights = [1.0] * len(styles) if style_weights is None else [float(w) for w in style_weights]
    if len(weights) != len(styles) or any(w < 0 for w in weights) or not sum(weights) > 0:
        raise UsageError(
            f"--style-weights: give {len(styles)} non-negative weights that add up to more than 0"
        )
    param = next(iter(extractor.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    content = (content.unsqueeze(0) if content.dim() == 3 else content).to(device, torch.float32)
    style_weight = (
        opts.style_weight if opts.style_weight is not None else default_style_weight(extractor)
    )
    content_layers = list(opts.content_layers or extractor.content_layers)
    style_layers = list(opts.style_layers or extractor.style_layers)
    extractor.check_layers(content_layers + style_layers)
    sizes = stage_sizes(opts.size, min_size=opts.min_size, multiscale=opts.multiscale)
    result: Tensor | None = None
    for size in sizes:
        hw = _stage_hw(content, size)
        target = _resize_to(content, hw)
        if result is None:
            if opts.init == "noise":
                gen = torch.Generator().manual_seed(opts.seed)
                result = (torch.randn(target.shape, generator=gen) * 0.5).clamp(-1, 1).to(device)
            else:
                result = target.clone()
        else:
            result = _resize_to(result, hw)
        grams = _gram_targets(
            extractor,
            styles,
            weights,
            style_layers,
            round(size * opts.style_scale),
            tile=opts.tile,
            tile_above=opts.tile_above,
            device=device,
        )
        if max(hw) <= opts.tile_above:
            boxes = [(0, 0, hw[0], hw[1])]
        else:
            boxes = tile_boxes(hw[0], hw[1], opts.tile, opts.overlap)
        total = opts.steps * len(boxes)
        for index, (top, left, bottom, right) in enumerate(boxes):
            label = f"{size}px" if len(boxes) == 1 else f"{size}px tile {index + 1}/{len(boxes)}"
            window = target[..., top:bottom, left:right]
            with torch.no_grad():
                content_targets = {
                    k: v.detach() for k, v in extractor(window, content_layers).items()
                }
            objective = _Objective(extractor, content_targets, grams, opts, style_weight)
            offset = index * opts.steps

            def report(
                done: int, losses: dict[str, float], label=label, offset=offset, total=total
            ) -> None:
                if progress is not None:
                    progress(label, offset + done, total, losses)

            start = result[..., top:bottom, left:right]
            out = _optimise(start, objective, opts.steps, opts, report)
            if len(boxes) == 1:
                result = out
            else:
                alpha = _feather(
                    bottom - top, right - left, opts.overlap, top > 0, left > 0, device
                )
                result[..., top:bottom, left:right] = start * (1 - alpha) + out * alpha
            del objective, content_targets, out
    assert result is not None
    return result.clamp(-1, 1)
