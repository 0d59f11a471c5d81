"""Dataset augmentations chosen per run (``--data-augment flip,rot90,crop,jitter``).

Applied by the trainer to each real batch, on the batch's device, before the
model sees it -- unlike DiffAugment (``--augment``), which a GAN applies to real
and fake images alike. Randomness comes from a generator seeded by (run seed,
step), so a resumed run draws exactly what an uninterrupted one would, with
nothing extra to save.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artkit.errors import UsageError

OPS = ("flip", "rot90", "crop", "jitter")


def parse_ops(text: str) -> tuple[str, ...]:
    ops = tuple(dict.fromkeys(p.strip().lower() for p in (text or "").split(",") if p.strip()))
    for op in ops:
        if op not in OPS:
            raise UsageError(f"--data-augment: unknown op {op!r}; known: {', '.join(OPS)}")
    return ops


def augment_batch(x: torch.Tensor, ops: tuple[str, ...], seed: int, step: int) -> torch.Tensor:
    """Augment images (N, C, H, W) in [-1, 1]; the same (seed, step) gives the same result."""
    if not ops:
        return x
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    n = x.shape[0]
    u = torch.rand(n, 8, generator=g).to(x.device)
    if "flip" in ops:
        x = torch.where((u[:, 0] < 0.5).view(n, 1, 1, 1), x.flip(3), x)
    if "rot90" in ops and x.shape[2] == x.shape[3]:
        k = (u[:, 1] * 4).long().clamp(max=3)
        x = torch.stack(
            [torch.rot90(img, int(r), dims=(1, 2)) for img, r in zip(x, k.tolist(), strict=True)]
        )
    if "crop" in ops:
        # zoom into a random window covering 70-100% of each side, resampled to full size
        scale = 0.7 + 0.3 * u[:, 2]
        tx = (1 - scale) * (2 * u[:, 3] - 1)
        ty = (1 - scale) * (2 * u[:, 4] - 1)
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = scale, scale, tx, ty
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if "jitter" in ops:
        colour = x[:, :3]
        brightness = (u[:, 5] - 0.5).view(n, 1, 1, 1) * 0.2
        contrast = (1 + (u[:, 6] - 0.5) * 0.3).view(n, 1, 1, 1)
        saturation = (1 + (u[:, 7] - 0.5) * 0.4).view(n, 1, 1, 1)
        mean = colour.mean(dim=(1, 2, 3), keepdim=True)
        colour = (colour - mean) * contrast + mean + brightness
        if colour.shape[1] == 3:
            grey = colour.mean(dim=1, keepdim=True)
            colour = (colour - grey) * saturation + grey
        x = torch.cat([colour.clamp(-1, 1), x[:, 3:]], dim=1)
    return x
