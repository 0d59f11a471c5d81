"""Paths through latent space: linear or spherical interpolation between key latents."""

from __future__ import annotations

from typing import Any


def walk(keys: Any, frames: int, *, slerp: bool, loop: bool) -> Any:
    """``frames`` latents along the path through ``keys`` (and back to the first when ``loop``)."""
    import torch

    points = torch.cat([keys, keys[:1]]) if loop else keys
    segments = len(points) - 1
    # positions along the whole path; with loop the last frame stops short of the start
    t = torch.linspace(0, segments, frames + (1 if loop else 0))[:frames]
    out = []
    for pos in t.tolist():
        i = min(int(pos), segments - 1)
        frac = pos - i
        a, b = points[i], points[i + 1]
        out.append(slerp_point(a, b, frac) if slerp else torch.lerp(a, b, frac))
    return torch.stack(out)


def slerp_point(a: Any, b: Any, t: float) -> Any:
    """Spherical interpolation from ``a`` to ``b`` at ``t``; linear when they are parallel."""
    import torch

    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if so.abs() < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
