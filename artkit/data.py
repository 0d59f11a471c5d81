"""The dataset contract shared by every ``register_datasets`` plugin.

A dataset factory is called as ``factory(resolution=R, channels=C, **params)``
where ``params`` are the entry's own typed parameters (``folder:path=art/``) and
R and C come from the model being trained. It returns an :class:`ImageSource`:
an indexable collection of uint8 numpy arrays shaped ``(R, R, C)``.

R may also be a non-square size: ``"64x128"`` (a model's ``resolution=64x128``)
or ``(64, 128)``, height then width; the arrays are then ``(64, 128, C)``, cropped
or padded to that aspect. :func:`image_size` reads any of these spellings, and a
source keeps its ``resolution`` as the int side when square, ``"HxW"`` otherwise.

The core turns those into float tensors in [-1, 1], shuffles, batches and
augments them (see :mod:`artkit.train`); a source only decodes or draws images.
No torch here: sources may be listed, previewed and fingerprinted cheaply.

A source that knows what its images show may also have ``class_labels()``: one
non-negative integer class per image (an int64 array ``(N,)``), or None when it
does not know them this time (``shapes``: the kind of the biggest shape; ``idx``:
a label file). Optional, so not part of the protocol; read it with
:func:`class_labels`. ``label(i)``, where present, is something else: a name for
image ``i`` in messages. A source may also know a second thing its images vary by,
across classes: ``style_labels()``, one non-negative integer style per image in the
same form (``glyphs``: the font), read with :func:`style_labels`, and their
``style_names``. A model that learns styles (fastgan's ``styles=S``) is not told
which style to draw; it is paid for drawing each as often as the data has it.

A source whose arrays mean something only with a setting the model also has may
name it in ``model_hints``: a dict of model-config fields and the values the data
was made with (a piano roll's lowest pitch, ``{"low": 36}``). ``artkit train``
builds the model with those values where the user gave none, and a model option
that contradicts one is a one-line error (:func:`model_hints`). ``model_defaults``
is the soft kind: settings that suit the data (a chorale voice sings one note at a
time), followed where the user gave none, and a user's own value simply wins
(:func:`model_defaults`).
"""

from __future__ import annotations

import operator
from typing import Any, Protocol, runtime_checkable

from artkit.config_checks import image_size, resolution_value

__all__ = [
    "DecodedImages",
    "ImageSource",
    "center_crop",
    "class_labels",
    "classes_to_condition_on",
    "describe",
    "grey_to_paint",
    "image_size",
    "model_defaults",
    "model_hints",
    "resolution_value",
    "style_labels",
    "styles_to_learn",
]


@runtime_checkable
class ImageSource(Protocol):
    """What a dataset factory returns."""

    #: side length of every image, in pixels; ``"HxW"`` when not square (see :func:`image_size`)
    resolution: int | str
    #: 1 (greyscale), 3 (RGB) or 4 (RGBA)
    channels: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any:
        """The image at ``index`` as a uint8 numpy array ``(height, width, channels)``."""
        ...

    def fingerprint(self) -> str:
        """A short hex digest that changes whenever the images would change (files, params, seed)."""
        ...


def class_labels(source: Any) -> Any:
    """The source's ``class_labels()`` checked (one int64 class >= 0 per image), or None."""
    return _checked_labels(source, "class_labels", "class")


def style_labels(source: Any) -> Any:
    """The source's ``style_labels()`` checked (one int64 style >= 0 per image), or None."""
    return _checked_labels(source, "style_labels", "style")


def _checked_labels(source: Any, method: str, what: str) -> Any:
    get = getattr(source, method, None)
    labels = get() if callable(get) else None
    if labels is None:
        return None
    import numpy as np

    labels = np.asarray(labels)
    if labels.shape != (len(source),) or labels.dtype.kind not in "iu" or (labels < 0).any():
        from artkit.errors import ArtkitError

        raise ArtkitError(
            f"{type(source).__name__}.{method}() gives {labels.dtype} {labels.shape}, "
            f"not one {what} >= 0 per image ({len(source)})"
        )
    return labels.astype(np.int64, copy=False)


def _every_one_used(labels: Any) -> int:
    """K where ``labels`` use every number 0..K-1 and K >= 2; else 0."""
    if labels is None or not len(labels):
        return 0
    import numpy as np

    k = int(labels.max()) + 1
    return k if k >= 2 and len(np.unique(labels)) == k else 0


def classes_to_condition_on(source: Any) -> dict[str, int]:
    """``{"classes": K}`` when the source's labels use every class 0..K-1 (K >= 2), else ``{}``.

    For a labelled source's ``model_defaults``: a model with a ``classes`` field
    (fastgan, shapegan) then learns each class as its own, and a user can ask for
    one by name. A class without pictures would be drawn from an untrained
    embedding, so labels with gaps condition nothing.
    """
    k = _every_one_used(class_labels(source))
    return {"classes": k} if k else {}


def styles_to_learn(source: Any) -> dict[str, int]:
    """``{"styles": S}`` when the source's style labels use every style 0..S-1 (S >= 2), else ``{}``.

    For a source's ``model_defaults``: a model with a ``styles`` field (fastgan) then
    learns to draw every style as often as the data has it.
    """
    s = _every_one_used(style_labels(source))
    return {"styles": s} if s else {}


def grey_to_paint(images: Any, channels: int) -> dict[str, bool]:
    """``{"grey": True}`` when RGB(A) images are all grey (R = G = B in every pixel), else ``{}``.

    For a source's ``model_defaults``: a model with a ``grey`` field (fastgan, dcgan,
    vae) then paints one grey channel and cannot tint (:mod:`artkit.nn.grey`). Checked
    a block of images at a time, so a colour set stops at its first colourful block.
    """
    if channels not in (3, 4) or not len(images):
        return {}
    import numpy as np

    for start in range(0, len(images), 256):
        block = np.asarray(images[start : start + 256])
        red = block[..., 0]
        if not (np.array_equal(red, block[..., 1]) and np.array_equal(red, block[..., 2])):
            return {}
    return {"grey": True}


def center_crop(array: Any, size: tuple[int, int]) -> Any:
    """The centre ``(height, width)`` window of an array ``(H, W, ...)`` at least that big.

    How square-drawn sources (shapes, glyphs, emoji, samples) meet a non-square
    size: they draw a square at the longer side and keep the middle.
    """
    h, w = size
    top, left = (array.shape[0] - h) // 2, (array.shape[1] - w) // 2
    return array[top : top + h, left : left + w]


def describe(source: ImageSource) -> dict[str, Any]:
    """Summary used by ``artkit data info`` and checkpoint metadata."""
    info = {
        "count": len(source),
        "resolution": source.resolution,
        "channels": source.channels,
        "fingerprint": source.fingerprint(),
    }
    skipped = getattr(source, "skipped", None)
    if skipped is not None:
        info["skipped"] = len(skipped)
    return info


class DecodedImages:
    """Base for sources that decode every image once into ``self.images``.

    Subclasses set ``self.images`` (a uint8 array ``(N, R, R, C)``) and
    ``self._fingerprint`` in ``__init__`` and name themselves in ``kind`` (for
    messages); the sequence protocol, ``as_array`` and ``fingerprint`` come from here.
    """

    kind = "dataset"
    images: Any
    _fingerprint: str

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.images[index]
        i = operator.index(index)
        n = len(self.images)
        if not -n <= i < n:
            raise IndexError(f"{self.kind} dataset index {i} out of range ({n} images)")
        return self.images[i]

    def __iter__(self) -> Any:
        return iter(self.images)

    def as_array(self) -> Any:
        """All images as one uint8 array ``(N, R, R, C)``.

        This is the cache itself, not a copy (so ``torch.from_numpy`` shares it):
        treat it as read-only. It stays writable only because torch warns about
        wrapping non-writable arrays.
        """
        return self.images

    def fingerprint(self) -> str:
        return self._fingerprint


def _settings(source: Any, name: str) -> dict[str, Any]:
    """The source's attribute or method ``name`` as a dict (``{}`` when missing or not a dict)."""
    value = getattr(source, name, None)
    if callable(value):
        value = value()
    return dict(value) if isinstance(value, dict) else {}


def model_defaults(source: Any) -> dict[str, Any]:
    """The source's ``model_defaults`` (``{}`` when it has none): model fields that suit the data."""
    return _settings(source, "model_defaults")


def model_hints(source: Any) -> dict[str, Any]:
    """The source's ``model_hints`` (``{}`` when it has none): model fields the data fixes."""
    return _settings(source, "model_hints")
