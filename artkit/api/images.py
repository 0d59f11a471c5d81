"""Content and style sources: an image file, or ``sample:NAME`` for a bundled photo.

The bundled photos (``artkit[samples]``) are found through the ``samples`` dataset
entry: it registers its loader as ``sample_image="module:attr"``, imported only
when a ``sample:`` source is loaded, so library code never imports a plugin package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from artkit.errors import ArtkitError

SAMPLE_PREFIX = "sample:"


def _sample_loader(spec: str) -> Any:
    """The ``samples`` dataset's photo loader (``name -> PIL image``)."""
    from artkit.plugins import get_registry

    missing = ArtkitError(f"{spec}: bundled sample photos need pip install 'artkit[samples]'")
    registry = get_registry("datasets")
    if "samples" not in registry:
        raise missing
    ref = registry.get("samples").extra.get("sample_image")
    if callable(ref):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        raise missing
    module, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError:
        raise missing from None
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_source_image(spec: str, mode: str | None = "RGB") -> Any:
    """A content or style image: a file path, or ``sample:NAME`` for a bundled photo.

    ``mode`` is the PIL mode to convert to (RGB by default); ``None`` keeps the
    picture's own (L, RGB or RGBA), as ``artkit translate`` wants.
    """
    from artkit.images import load_image

    if spec.startswith(SAMPLE_PREFIX):
        name = spec[len(SAMPLE_PREFIX) :]
        image = _sample_loader(spec)(name)
        return image.convert(mode) if mode else image
    return load_image(spec, mode=mode)


def source_stem(spec: str) -> str:
    """The name an output made from ``spec`` takes: the file's stem, or the sample's name."""
    if spec.startswith(SAMPLE_PREFIX):
        return spec[len(SAMPLE_PREFIX) :] or "sample"
    return Path(spec).stem or "image"


def resize_longest(image: Any, size: int | None) -> Any:
    """``image`` scaled (Lanczos) so its longest side is ``size``; unchanged when no size."""
    if not size or max(image.size) == size:
        return image
    from PIL import Image

    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.LANCZOS)


def restore_alpha(result: Any, original: Any) -> Any:
    """``result`` with ``original``'s alpha channel put back (resized) when it had one."""
    if original.mode == "RGBA":
        out = result.convert("RGBA")
        alpha = original.getchannel("A")
        if alpha.size != out.size:
            alpha = alpha.resize(out.size)
        out.putalpha(alpha)
        return out
    return result
