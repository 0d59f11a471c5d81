"""Output media: what a model's samples become on disk, and how provenance travels with them.

Images are the default medium and the only one artkit itself ships; a plugin can
add another (MIDI and WAV for music, say) with the ``register_media`` hook. A model
names its medium in ``ArtModel.output_kind`` (``"image"`` unless it says otherwise);
the library layer's writer then asks the medium to

- turn a batch of model output into items (``to_items(tensor) -> list``; images:
  PIL images);
- save one item with its provenance (``save(item, path, provenance) -> Path``), the
  file suffix being the medium's (``suffixes[0]``, or the user's ``--format`` when
  the medium lists it);

and ``artkit info`` finds the medium that reads a file by its suffix
(``read_provenance(path) -> dict | None``). A medium is a class or object with
``name``, ``suffixes`` and those three methods; torch is imported only by
``to_items``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from artkit.errors import ArtkitError

#: the medium of a model that names none
DEFAULT_KIND = "image"


class ImageMedium:
    """PNG (default), WebP or JPEG pictures; provenance in PNG iTXt / WebP+JPEG XMP."""

    name = "image"
    suffixes = (".png", ".webp", ".jpg", ".jpeg")

    @staticmethod
    def to_items(batch: Any) -> list[Any]:
        from artkit.torch_images import to_pil

        return to_pil(batch)

    @staticmethod
    def save(item: Any, path: Path, provenance: dict[str, Any], **options: Any) -> Path:
        from artkit.images import save_image

        return save_image(item, path, provenance=provenance, **options)

    @staticmethod
    def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
        from artkit.images import read_provenance

        return read_provenance(path)


def medium(kind: str | None = None) -> Any:
    """The medium called ``kind`` (default: images); plugins' media come from the registry."""
    kind = kind or DEFAULT_KIND
    if kind == DEFAULT_KIND:
        return ImageMedium
    from artkit.plugins import get_registry

    registry = get_registry("media")
    if kind not in registry:
        raise ArtkitError(
            f"this model writes {kind!r} files, and no loaded plugin registers that medium "
            "(see `artkit plugins`)"
        )
    return registry.get(kind).factory


def medium_of(model: Any) -> Any:
    """The medium a model's samples are written in (its ``output_kind``)."""
    return medium(model.output_kind)


def medium_for_path(path: str | os.PathLike[str]) -> Any | None:
    """The medium that reads files like ``path`` (by suffix), or None."""
    suffix = Path(path).suffix.lower()
    if suffix in ImageMedium.suffixes:
        return ImageMedium
    from artkit.plugins import get_registry

    for entry in get_registry("media"):
        found = entry.factory
        if suffix in tuple(s.lower() for s in getattr(found, "suffixes", ())):
            return found
    return None
