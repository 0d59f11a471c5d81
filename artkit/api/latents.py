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


# -- latents files ------------------------------------------------------------------
#: metadata ``artkit.kind`` of a latents file (not a model: ``load_model`` refuses it)
LATENTS_KIND = "latents"


def latents_metadata(
    net: Any, origin: dict[str, Any], keys: list[str], **extra: str
) -> dict[str, str]:
    """What a latents file records: the model, its checkpoint, ``z_dim`` and the key order.

    ``artkit encode`` and ``artkit project`` write it; ``extra`` (``artkit.command``
    and the like) joins it as given.
    """
    import json

    from artkit import __version__

    return {
        "artkit.kind": LATENTS_KIND,
        "artkit.version": __version__,
        "artkit.source_model": net.registry_name,
        "artkit.source_config": json.dumps(net.config_dict(), sort_keys=True),
        "artkit.source_checkpoint": origin.get("checkpoint") or origin.get("model_spec") or "",
        "artkit.source_checkpoint_sha256": origin.get("checkpoint_sha256") or "",
        "artkit.z_dim": str(net.z_dim),
        "artkit.keys": json.dumps(keys),
        **extra,
    }


def read_latents(path: Any, z_dim: int) -> list[tuple[str, Any]]:
    """``(key, latent)`` pairs of a latents file, in the order they were written.

    Reads ``mean/<key>`` tensors (what ``artkit encode`` and ``artkit project``
    write); a file without them is read as plain ``name -> latent`` tensors. Every
    latent must have ``z_dim`` values (a one-line :class:`UsageError` otherwise).
    """
    import json

    from artkit.checkpoint import load_tensors
    from artkit.errors import UsageError

    tensors, metadata = load_tensors(path)
    means = {k.removeprefix("mean/"): v for k, v in tensors.items() if k.startswith("mean/")}
    if not means:
        means = {k: v for k, v in tensors.items() if not k.startswith(("logvar/", "extra/"))}
    if not means:
        raise UsageError(f"{path}: holds no latents")
    try:
        order = [k for k in json.loads(metadata.get("artkit.keys", "[]")) if k in means]
    except (ValueError, TypeError):
        order = []
    order += sorted(k for k in means if k not in order)
    out = []
    for key in order:
        z = means[key]
        if not z.is_floating_point() or z.numel() != z_dim:
            raise UsageError(
                f"{path}: latent {key!r} has shape {tuple(z.shape)}, but the model needs {z_dim} values"
            )
        out.append((key, z.float().reshape(z_dim)))
    return out


def key_latents(
    files: list[Any], net: Any, origin: dict[str, Any], warn: Any = None
) -> tuple[list[str], Any]:
    """The latents in ``files``, in order, as walk keys: ``(key names, tensor (N, z_dim))``.

    A file written with another checkpoint than ``origin``'s is read, with a
    ``warn`` line: its latents are only meaningful for the model they came from.
    """
    import torch

    from artkit.checkpoint import read_header

    names: list[str] = []
    rows = []
    sha = origin.get("checkpoint_sha256")
    for path in files:
        source_sha = read_header(path).metadata.get("artkit.source_checkpoint_sha256")
        if warn is not None and source_sha and sha and source_sha != sha:
            warn(f"{path} was made with another checkpoint; the images will not match")
        for key, z in read_latents(path, int(net.z_dim)):
            names.append(key)
            rows.append(z)
    return names, torch.stack(rows)
