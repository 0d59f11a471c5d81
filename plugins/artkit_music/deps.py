"""The music extra's optional dependencies, imported only when needed.

``music21`` (the corpora) and ``mido`` (MIDI files) are not core dependencies;
every module of :mod:`artkit_music` asks for them through :func:`require`, so a
missing one is a one-line error naming the extra instead of a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from artkit.errors import UsageError

_WHAT = {"mido": "reading and writing MIDI files", "music21": "the music21 corpora"}


def require(module_name: str) -> ModuleType:
    """Import ``module_name`` (e.g. ``"mido"``, ``"music21"``) or raise a one-line UsageError."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        what = _WHAT.get(module_name.split(".")[0], module_name)
        raise UsageError(
            f"{module_name} is not installed ({exc.name or module_name}): {what} "
            "needs the music extra: pip install 'artkit[music]'"
        ) from None
