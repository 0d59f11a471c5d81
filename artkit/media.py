"""Output media: what a model's samples become on disk, and how provenance travels with them.

Images are the default medium and the only one artkit itself ships; a plugin can
add another (MIDI and WAV for music, say) with the ``register_media`` hook. A model
names its medium in ``ArtModel.output_kind`` (``"image"`` unless it says otherwise);
the library layer's writer then asks the medium to

- turn a batch of model output into items (``to_items(tensor) -> list``; images:
  PIL images). A medium whose ``to_items`` has a ``model`` parameter is given the
  model too (``to_items(tensor, model=net)``), so it can read what it needs from
  ``model.config`` (a pitch range, a tempo, instruments);
- save one item with its provenance (``save(item, path, provenance) -> Path``), the
  file suffix being the medium's (``suffixes[0]``, or the user's ``--format`` when
  the medium lists it);

and ``artkit info`` finds the medium that reads a file by its suffix
(``read_provenance(path) -> dict | None``). A medium is a class or object with
``name``, ``suffixes`` and those three methods; torch is imported only by
``to_items``.

Everything below is optional; a command that needs a method the medium lacks
says so in one line (:func:`require`):

- ``save(..., audio=True)``: a ``save`` with an ``audio`` parameter can also render
  sound (``artkit sample --audio``, ``Model.save(..., audio=True)``); for any other
  medium ``--audio`` is a usage error.
- ``preview(path) -> PIL.Image``: a picture of one file, so ``artkit grid`` can lay
  out files that are not images (``artkit sample MUSIC -o out | artkit grid``).
- ``join(items) -> item``: one item made of several in order (a medley);
  ``artkit interpolate`` / ``morph`` save the walk's frames joined, as one file in
  the medium, instead of an animation.
- ``load_array(path, channels, resolution) -> uint8 (H, W, C)``: a file as the array
  a dataset of this geometry would give (``resolution`` a side or ``"HxW"``). Used by
  ``artkit eval`` on folders of the medium's files, by ``reproduce`` when there is no
  ``compare``, and by ``encode`` / ``morph`` to read inputs for a model.
- ``compare(a_path, b_path) -> (differing_units, max_difference)``: how two files
  differ (``(0, 0)``: identical); ``artkit reproduce`` uses it for the medium's files.
- ``evaluate(fake_arrays, ref_arrays) -> list[dict]``: the medium's own measures of
  two sets of ``load_array`` arrays; each row a dict with ``"name"`` and the values to
  show (say ``"samples"`` and ``"reference"``). ``artkit eval`` prints the rows under
  its distances (``--json``: ``"measures"``).
- ``eval_features: str``: the extractor ``artkit eval --features auto`` uses for
  the medium's files (say ``"pianoroll"``).
- ``companions(path, audio=False) -> list[Path]``: the files ``save`` writes beside
  ``path`` (a ``.mid``'s ``.png`` and ``.wav``); ``artkit render`` renders an item
  again when one is missing, instead of counting it as already there.

:func:`picture_array` draws arrays whose channels are not colours (the tracks of a
piano roll, one colour each) for sample grids and dataset previews.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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


# --------------------------------------------------------------------------- optional methods


def is_image(found: Any) -> bool:
    """True for the image medium."""
    return found is ImageMedium or getattr(found, "name", None) == DEFAULT_KIND


def takes_parameter(fn: Any, name: str, *, through_kwargs: bool = False) -> bool:
    """True when callable ``fn`` has a parameter called ``name``; with ``through_kwargs``
    a ``**kwargs`` that would take it counts too."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or (
        through_kwargs and any(p.kind is p.VAR_KEYWORD for p in params.values())
    )


def require(found: Any, method: str, what: str) -> Any:
    """The medium's optional ``method``, or a one-line UsageError saying ``what`` it lacks."""
    from artkit.errors import UsageError

    fn = getattr(found, method, None)
    if not callable(fn):
        raise UsageError(f"this model's medium ({found.name}) has no {what}")
    return fn


def to_items(found: Any, batch: Any, *, model: Any = None) -> list[Any]:
    """``found.to_items(batch)``, with ``model=`` when the medium's ``to_items`` takes it."""
    if model is not None and takes_parameter(found.to_items, "model"):
        return list(found.to_items(batch, model=model))
    return list(found.to_items(batch))


def check_audio(found: Any) -> None:
    """A one-line UsageError unless the medium can render sound (``save(..., audio=True)``)."""
    from artkit.errors import UsageError

    if not takes_parameter(found.save, "audio"):
        raise UsageError(f"this model's medium ({found.name}) has no audio rendering")


def save(
    found: Any,
    item: Any,
    path: Path,
    provenance: dict[str, Any],
    *,
    audio: bool = False,
    **options: Any,
) -> Path:
    """``found.save(item, path, provenance, **options)``, passing ``audio=True`` only when asked."""
    if audio:
        check_audio(found)
        options["audio"] = True
    written = found.save(item, path, provenance, **options)
    return Path(written) if written is not None else Path(path)


def walk_output(found: Any, out: Path | None, default_stem: str) -> Path:
    """Where ``interpolate`` / ``morph`` write a non-image walk: ``-o`` in the medium's suffix.

    No ``-o``: ``STEM`` plus the medium's first suffix. An ``-o`` with another suffix (an
    animation's ``walk.gif`` for a MIDI model) is a one-line UsageError.
    """
    from artkit.errors import UsageError

    suffixes = tuple(s.lower() for s in found.suffixes)
    if out is None:
        return Path(default_stem + suffixes[0])
    if out.suffix.lower() not in suffixes:
        shown = repr(out.suffix) if out.suffix else "no suffix"
        raise UsageError(
            f"-o {str(out)!r}: this model writes {found.name} files, not {shown}; "
            f"use {', '.join(suffixes)}"
        )
    return out


def write_walk(
    found: Any, items: list[Any], out: Path | None, default_stem: str, provenance: dict[str, Any]
) -> Path:
    """A walk's frames joined into one file of the medium (a medley), with provenance."""
    target = walk_output(found, out, default_stem)
    joined = join(found, items)
    target.parent.mkdir(parents=True, exist_ok=True)
    return save(found, joined, target, provenance)


def picture(path: str | os.PathLike[str], mode: str | None = None) -> Any:
    """A file as a PIL image: an image file read as usual, another medium's file through its
    ``preview``; a file no medium previews is read as an image (and fails as one)."""
    from artkit.images import load_image

    found = medium_for_path(path)
    if found is None or is_image(found) or not callable(getattr(found, "preview", None)):
        return load_image(path, mode=mode)
    image = found.preview(path)
    image.load()
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return image


def provenance_of_path(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance a file carries, through the medium that reads its suffix."""
    if Path(path).suffix.lower() == ".mp4":  # an animation: its comment tag, through ffmpeg
        from artkit.animation import read_mp4_provenance

        return read_mp4_provenance(path)
    found = medium_for_path(path)
    if found is None or is_image(found):
        from artkit.images import read_provenance

        return read_provenance(path)
    return found.read_provenance(path)


def written_by_artkit(path: str | os.PathLike[str]) -> bool:
    """Does ``path`` hold a file artkit wrote? Pictures, animations and a medium's files
    carry provenance; latents files say so in their header. Anything unreadable does not."""
    target = Path(path)
    if not target.is_file():
        return False
    if target.suffix.lower() == ".mp4":
        from artkit.animation import require_ffmpeg

        require_ffmpeg()  # without it no mp4 is read (nor written): say that, not "foreign"
    try:
        if target.suffix.lower() == ".safetensors":
            from artkit.checkpoint import read_header

            return read_header(target).metadata.get("artkit.kind") == "latents"
        return provenance_of_path(target) is not None
    except Exception:  # unreadable, or not in the format its suffix says
        return False


def refuse_foreign(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    option: str = "-o",
) -> None:
    """A one-line UsageError when writing ``path`` would replace a file artkit did not
    write, or one of the command's ``inputs`` (even one artkit wrote). ``option`` names
    the setting to change in the message."""
    from artkit.errors import UsageError

    target = Path(path)
    if not (target.exists() or target.is_symlink()):
        return
    for source in inputs:
        try:
            same = os.path.samefile(target, source)
        except (OSError, ValueError):
            same = False
        if same:
            raise UsageError(
                f"{target} is one of the inputs; writing there would replace it "
                f"(choose another {option})"
            )
    if not written_by_artkit(target):
        raise UsageError(
            f"{target} exists and was not written by artkit; remove it or choose another {option}"
        )


def join(found: Any, items: list[Any]) -> Any:
    """The medium's items joined into one (a medley), or a one-line UsageError."""
    return require(found, "join", "way to join items into one file (join)")(list(items))


def compare(
    found: Any, a: str | os.PathLike[str], b: str | os.PathLike[str], geometry: Any = None
) -> tuple[int, float]:
    """``(differing units, largest difference)`` of two files in the medium.

    Its ``compare`` when it has one; else its ``load_array`` at ``geometry``
    (``(channels, resolution)``) and the arrays compared element by element.
    """
    import numpy as np

    fn = getattr(found, "compare", None)
    if callable(fn):
        units, most = fn(a, b)
        return int(units), float(most)
    if geometry is None:
        raise ArtkitError(
            f"the {found.name} medium cannot compare files (no compare or load_array)"
        )
    load = require(found, "load_array", "way to compare files (compare or load_array)")
    x = np.asarray(load(a, *geometry), dtype=np.int16)
    y = np.asarray(load(b, *geometry), dtype=np.int16)
    if x.shape != y.shape:
        return max(x.size, y.size), 255.0
    diff = np.abs(x - y)
    return int((diff > 0).sum()), float(diff.max(initial=0))


def media_files(folder: str | os.PathLike[str]) -> tuple[Any, list[str]] | None:
    """A folder's files of one plugin medium (sorted; hidden entries skipped), or None.

    The medium whose files are the most numerous wins; a folder with none (only
    images, say) gives None, so callers fall back to images.
    """
    from artkit.plugins import get_registry

    by_suffix: dict[str, Any] = {}
    for entry in get_registry("media"):
        for suffix in getattr(entry.factory, "suffixes", ()):
            by_suffix.setdefault(suffix.lower(), entry.factory)
    if not by_suffix:
        return None
    found: dict[int, list[tuple[tuple[str, ...], str]]] = {}
    media: dict[int, Any] = {}
    root_dir = os.fspath(folder)
    for root, dirs, files in os.walk(root_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(root, root_dir)
        parts = () if rel == os.curdir else tuple(rel.split(os.sep))
        for name in files:
            kind = by_suffix.get(os.path.splitext(name)[1].lower())
            if kind is None or name.startswith(".") or is_image(kind):
                continue
            media[id(kind)] = kind
            found.setdefault(id(kind), []).append(((*parts, name), os.path.join(root, name)))
    if not found:
        return None
    key = max(found, key=lambda k: len(found[k]))
    return media[key], [p for _, p in sorted(found[key])]


#: colours of the channels of an array that is not a picture (tracks of a piano roll)
TRACK_COLOURS = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (128, 128, 0),
)


def picture_array(array: Any) -> Any:
    """uint8 ``(N, H, W, C)`` -> something :func:`artkit.grid.grid_from_array` draws.

    Pictures (C = 1, 3 or 4, or ``(N, H, W)``) come back unchanged. Any other channel
    count (the tracks of a piano roll) becomes RGB on white: each channel in its own
    colour (:data:`TRACK_COLOURS`, repeating), the strongest wins where they overlap.
    """
    import numpy as np

    arr = np.asarray(array)
    if arr.ndim != 4 or arr.shape[-1] in (1, 3, 4):
        return array
    colours = np.array([TRACK_COLOURS[i % len(TRACK_COLOURS)] for i in range(arr.shape[-1])])
    strongest = arr.argmax(-1)  # (N, H, W)
    level = arr.max(-1).astype(np.float32)[..., None] / 255  # (N, H, W, 1)
    ink = colours[strongest].astype(np.float32)  # (N, H, W, 3)
    out = 255 - level * (255 - ink)
    return out.round().clip(0, 255).astype(np.uint8)
