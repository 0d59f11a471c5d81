"""Output file names for commands that write one file per input.

``OutputNames(folder)("photo", ".png")`` gives ``folder/photo.png``, then
``photo-2.png``, ``photo-3.png`` ... when one run would write a name twice (two
inputs called ``photo.jpg`` in different folders). Used by ``artkit stylize`` and
``artkit translate``, which plugins register, and ``artkit project``.

A name is never one that would replace the input it is made from, or a file artkit
did not write (:func:`artkit.media.refuse_foreign`: a one-line UsageError).
"""

from __future__ import annotations

from pathlib import Path


class OutputNames:
    """``DIR/stem.ext``, with ``-2``, ``-3`` ... when one run would write a name twice."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()

    def __call__(self, stem: str, suffix: str, *, source: str | None = None) -> Path:
        """The next free name for ``stem``; ``source``: the input the file is made from."""
        from artkit.media import refuse_foreign

        name, n = f"{stem}{suffix}", 1
        while name in self.used:
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.used.add(name)
        refuse_foreign(self.folder / name, inputs=[source] if source else ())
        return self.folder / name
