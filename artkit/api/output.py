"""Images in memory carry their provenance; saving them writes it into the file.

:meth:`artkit.api.model.Model.sample` and :func:`artkit.api.post.apply` put the
provenance (the dict ``artkit sample`` / ``artkit post`` write) into
``image.info["artkit"]`` as JSON text, where :func:`artkit.images.read_provenance`
finds it. :func:`save` (``artkit.save``) writes it into the file, so
``artkit info`` explains the picture and ``artkit reproduce`` renders it again.

Like the commands, these never replace a file artkit did not write (a photo of your
own at the same path) unless asked with ``overwrite=True``; a file artkit wrote is
replaced, as re-running ``artkit sample`` replaces its own samples.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image


#: the still-image formats artkit writes (each can carry provenance)
FORMATS = ("png", "webp", "jpg")


def image_format(fmt: str, *, key: str = "--format") -> str:
    """An output format normalised (``JPEG`` -> ``jpg``), or a one-line UsageError naming
    ``key`` (``--format`` on the command line, ``format`` from Python)."""
    from artkit.errors import UsageError

    fmt = str(fmt).lower().lstrip(".").replace("jpeg", "jpg")
    if fmt not in FORMATS:
        raise UsageError(f"{key} {fmt!r}: use png, webp or jpg")
    return fmt


def attach_provenance(image: Image.Image, provenance: dict[str, Any]) -> Image.Image:
    """Store ``provenance`` in ``image.info["artkit"]`` (canonical JSON); returns the image."""
    import json

    from artkit.images import PROVENANCE_KEY

    image.info[PROVENANCE_KEY] = json.dumps(
        provenance, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return image


def provenance_of(image: Image.Image) -> dict[str, Any] | None:
    """The provenance an image carries (in memory or read from its file), or None."""
    from artkit.images import read_provenance

    return read_provenance(image)


def refuse_foreign_target(
    path: str | os.PathLike[str], overwrite: bool, inputs: Sequence[str] = ()
) -> None:
    """A one-line UsageError when ``path`` holds a file artkit did not write, or one of
    ``inputs`` (unless ``overwrite``): the API's guard, as
    :func:`artkit.media.refuse_foreign` is the CLI's."""
    if overwrite:
        return
    from artkit.media import refuse_foreign

    refuse_foreign(path, inputs=inputs, option="path, or pass overwrite=True")


def save(
    image: Image.Image,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` atomically with the provenance it carries (PNG, WebP or JPEG by suffix).

    ``overwrite=True`` replaces a file at ``path`` that artkit did not write; without
    it that is a one-line :class:`artkit.errors.UsageError` and nothing is written.
    An image that carries no provenance (a picture of your own) gets a minimal one
    (``{"artkit": VERSION, "command": "save"}``), so saving it there again is allowed.
    """
    from artkit import __version__
    from artkit.images import save_image

    refuse_foreign_target(path, overwrite)
    provenance = provenance_of(image) or {"artkit": __version__, "command": "save"}
    return save_image(image, path, provenance=provenance, format=format, quality=quality)


def save_grid(
    images: Sequence[Image.Image],
    path: str | os.PathLike[str],
    *,
    cols: int | None = None,
    labels: Sequence[str] | None = None,
    padding: int = 2,
    overwrite: bool = False,
) -> Path:
    """A contact sheet of ``images`` (``cols`` wide; labels under each cell) written to ``path``.

    ``overwrite``: as for :func:`save`; without it ``path`` must not be the file one of
    ``images`` was opened from either (a sheet over its own picture).
    """
    from artkit import __version__
    from artkit.errors import UsageError
    from artkit.grid import make_grid
    from artkit.images import save_image

    images = list(images)
    if not images:
        raise UsageError("save_grid: no images given")
    opened_from = [im.filename for im in images if getattr(im, "filename", "")]
    refuse_foreign_target(path, overwrite, opened_from)
    first = provenance_of(images[0]) or {}
    seeds = [(provenance_of(im) or {}).get("seed") for im in images]
    provenance = {
        "artkit": __version__,
        "command": "grid",
        **({"model": first["model"]} if "model" in first else {}),
        **({"seeds": seeds} if all(s is not None for s in seeds) else {}),
    }
    sheet = make_grid(images, columns=cols, padding=padding, labels=labels)
    return save_image(sheet, path, provenance=provenance)


def save_images(
    images: Sequence[Any], folder: str | os.PathLike[str], *, overwrite: bool = False
) -> list[Path]:
    """Each image into ``folder`` as ``SEED.png`` (or ``N.png``) with its provenance.

    Every target is checked before the first file is written: a file artkit did not
    write there is a one-line :class:`artkit.errors.UsageError` (``overwrite=True``
    replaces it).
    """
    images = list(images)
    targets = []
    for i, im in enumerate(images):
        seed = (provenance_of(im) or {}).get("seed")
        name = f"{seed:06d}.png" if isinstance(seed, int) else f"{i:06d}.png"
        targets.append(Path(folder) / name)
        refuse_foreign_target(targets[-1], overwrite)
    return [save(im, target, overwrite=True) for im, target in zip(images, targets, strict=True)]
