"""Output file names for commands that write one file per input.

``OutputNames(folder)("photo", ".png")`` gives ``folder/photo.png``, then
``photo-2.png``, ``photo-3.png`` ... when one run would write a name twice (two
inputs called ``photo.jpg`` in different folders). Used by ``artkit stylize`` and
``artkit translate``, which plugins register.
"""

from __future__ import annotations

from pathlib import Path


class OutputNames:
    """``DIR/stem.ext``, with ``-2``, ``-3`` ... when one run would write a name twice."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()

    def __call__(self, stem: str, suffix: str) -> Path:
        name, n = f"{stem}{suffix}", 1
        while name in self.used:
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.used.add(name)
        return self.folder / name
