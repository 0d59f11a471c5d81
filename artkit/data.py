"""The dataset contract shared by every ``register_datasets`` plugin.

A dataset factory is called as ``factory(resolution=R, channels=C, **params)``
where ``params`` are the entry's own typed parameters (``folder:path=art/``) and
R and C come from the model being trained. It returns an :class:`ImageSource`:
an indexable collection of uint8 numpy arrays shaped ``(R, R, C)``.

The core turns those into float tensors in [-1, 1], shuffles, batches and
augments them (see :mod:`artkit.train`); a source only decodes or draws images.
No torch here: sources may be listed, previewed and fingerprinted cheaply.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ImageSource(Protocol):
    """What a dataset factory returns."""

    #: side length of every image, in pixels
    resolution: int
    #: 1 (greyscale), 3 (RGB) or 4 (RGBA)
    channels: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any:
        """The image at ``index`` as a uint8 numpy array of shape (resolution, resolution, channels)."""
        ...

    def fingerprint(self) -> str:
        """A short hex digest that changes whenever the images would change (files, params, seed)."""
        ...


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
