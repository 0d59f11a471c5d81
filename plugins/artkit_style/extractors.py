"""Where feature-extractor weights live, found without importing torch.

The pretrained extractors (``vgg19``, ``vgg16``) look for ImageNet weights in this
order (:func:`weight_sources`):

1. an explicit file (``--weights FILE`` / ``weights=``): must be ``.safetensors``;
2. artkit's own cache, ``$ARTKIT_CACHE_DIR/weights/NAME.safetensors`` (default
   ``$XDG_CACHE_HOME/artkit`` or ``~/.cache/artkit``), filled by
   ``artkit weights import NAME FILE.pth``;
3. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth`` (default
   ``~/.cache/torch``), where ``torchvision`` puts what it downloads; loaded with
   ``weights_only=True`` and converted into artkit's cache on first use;
4. a torchvision download, only when the network answers within a couple of seconds
   and ``ARTKIT_OFFLINE`` is not set.

When none of these gives weights, :func:`artkit_style.nn_extractors.get_extractor`
falls back to the ``random-multiscale`` extractor with a one-line notice, so style
transfer always works offline. This module only computes paths; the loading is in
:mod:`artkit_style.nn_extractors`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from artkit import assets

#: The one-line notice printed (on stderr) when no VGG weights can be found.
NO_WEIGHTS_NOTICE = (
    "artkit: notice: no {label} weights found (see `artkit weights import`); "
    "using random-multiscale features"
)


@dataclass(frozen=True)
class PretrainedInfo:
    """What artkit knows about one pretrained extractor's weights."""

    name: str
    label: str  # "VGG19"
    hub_file: str  # file name torchvision uses in the hub cache
    url: str
    size_mb: int  # download size of the full torchvision checkpoint


PRETRAINED: dict[str, PretrainedInfo] = {
    "vgg19": PretrainedInfo(
        "vgg19",
        "VGG19",
        "vgg19-dcbb9e9d.pth",
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
        548,
    ),
    "vgg16": PretrainedInfo(
        "vgg16",
        "VGG16",
        "vgg16-397923af.pth",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        528,
    ),
}


def cached_weights_path(name: str) -> Path:
    """Where ``artkit weights import NAME`` puts the converted weights."""
    return assets.weights_cache_dir() / f"{name}.safetensors"


def hub_checkpoint_path(name: str) -> Path | None:
    info = PRETRAINED.get(name)
    return assets.torch_hub_checkpoints() / info.hub_file if info else None


def weight_sources(
    name: str, explicit: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path]]:
    """The places to look for ``name``'s weights, in order: ``[(kind, path), ...]``.

    ``kind`` is ``"file"`` (explicit), ``"cache"`` (artkit) or ``"hub"`` (torch hub
    cache); see :func:`artkit.assets.weight_sources`, the one resolver.
    """
    info = PRETRAINED.get(name)
    hub = (info.hub_file,) if info else ()
    return assets.weight_sources(f"{name}.safetensors", hub, explicit=explicit)


def locate(name: str) -> str | None:
    """The first weights file found for ``name``, or None."""
    for _, path in weight_sources(name):
        if path.is_file():
            return str(path)
    return None


def locate_vgg19() -> str | None:
    """The ``vgg19-weights`` asset's check."""
    return locate("vgg19")


def locate_vgg16() -> str | None:
    """The ``vgg16-weights`` asset's check."""
    return locate("vgg16")


offline = assets.offline


def list_cached() -> list[dict[str, object]]:
    """What ``artkit weights list`` shows: one row per known extractor and place."""
    rows: list[dict[str, object]] = []
    for name, info in PRETRAINED.items():
        for kind, path in weight_sources(name):
            exists = path.is_file()
            rows.append(
                {
                    "name": name,
                    "label": info.label,
                    "source": kind,
                    "path": str(path),
                    "present": exists,
                    "bytes": path.stat().st_size if exists else None,
                }
            )
    return rows
