"""``artkit weights import vgg19|vgg16 FILE``: the style plugin's weight sources.

Registered as the ``importer`` and ``sources`` extras of the ``vgg19-weights`` and
``vgg16-weights`` assets (see ``register_assets`` in :mod:`artkit_style`), so the
core ``artkit weights`` command never imports this plugin by name. torch is
imported only when weights are imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _import(name: str, file: Path) -> tuple[Path, str]:
    from artkit_style.nn_extractors import (
        import_torchvision_checkpoint,
        load_vgg_weights,
        save_cached_weights,
    )

    if file.suffix.lower() == ".safetensors":
        state = load_vgg_weights(file, name)
    else:
        state = import_torchvision_checkpoint(file, name)
    target = save_cached_weights(name, state, source=str(file))
    count = sum(t.numel() for t in state.values())
    return target, f"{name}: {len(state)} tensors, {count:,} parameters from {file}"


def import_vgg19(file: Path) -> tuple[Path, str]:
    """Convert torchvision's VGG19 ``.pth`` (or a ``.safetensors``) into artkit's cache."""
    return _import("vgg19", file)


def import_vgg16(file: Path) -> tuple[Path, str]:
    """Convert torchvision's VGG16 ``.pth`` (or a ``.safetensors``) into artkit's cache."""
    return _import("vgg16", file)


def _rows(name: str) -> list[dict[str, Any]]:
    from artkit_style.extractors import PRETRAINED, weight_sources

    return [
        {"name": name, "label": PRETRAINED[name].label, "source": kind, "path": str(path)}
        for kind, path in weight_sources(name)
    ]


def sources_vgg19() -> list[dict[str, Any]]:
    """Where VGG19 weights are looked for, in order."""
    return _rows("vgg19")


def sources_vgg16() -> list[dict[str, Any]]:
    """Where VGG16 weights are looked for, in order."""
    return _rows("vgg16")
