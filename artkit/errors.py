"""Errors a user can act on.

Every problem caused by input (a bad path, an unknown name, a corrupt file) is
raised as an ArtkitError. The CLI prints ``artkit: error: <message>`` on one line
to stderr and exits with ``exit_code`` -- never a traceback. Messages are one
line, say what is wrong and, where possible, what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (ESC, CR, BEL...) shown escaped.

    Messages quote file names, metadata and provenance that other people wrote; a
    raw ``\x1b[2J`` in a PNG's text chunk must not clear the user's screen.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\t" else repr(ch)[1:-1] for ch in text)


def describe_os_error(exc: OSError) -> str:
    """``path: what went wrong`` for an OSError, in one line."""
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        name = str(exc.filename)
        if len(name) > 120:
            name = name[:60] + "..." + name[-40:]
        return f"{name}: {what}"
    return what


def describe_exception(exc: BaseException, skip: tuple[str, ...] = ()) -> str:
    """``ErrorType: message (file.py:12)`` in one line; the place is the deepest frame
    outside Python's import machinery and the ``skip`` files, i.e. the plugin's line."""
    import traceback
    from pathlib import Path

    text = " ".join(str(exc).split()) or "(no message)"
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<")
        and "importlib" not in Path(f.filename).parts
        and f.filename not in skip
    ]
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        where = f" ({Path(exc.filename).name}:{exc.lineno})"
    else:
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {text}{where}"


class ArtkitError(Exception):
    """A failure explained in one line; exit code 1."""

    exit_code = 1

    def __str__(self) -> str:
        # Guarantee the one-line promise even if a caller passes a multi-line message.
        return " ".join(super().__str__().split())


class UsageError(ArtkitError):
    """The command line itself is wrong (bad option value, unknown name); exit code 2."""

    exit_code = 2


class MetricRefused(UsageError):
    """One asked-for metric cannot be had for these sets (``fdinf`` with too few images);
    the others can, so a caller may ask again without it."""


_SINGULAR = {
    "models": "model",
    "losses": "loss",
    "datasets": "dataset",
    "postprocessors": "post-processor",
    "extractors": "extractor",
    "assets": "asset",
    "stylizers": "stylizer",
    "media": "medium",
}


class UnknownNameError(UsageError):
    """A registry lookup failed; the message lists close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif known:
            hint = "known: " + ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        else:
            hint = f"no {kind} are registered (see `artkit plugins`)"
        super().__init__(f"unknown {_SINGULAR.get(kind, kind)} {name!r}; {hint}")
        self.kind, self.name, self.suggestions = kind, name, close


class DuplicateNameError(ArtkitError):
    """Two plugins registered the same name in one registry."""


class PluginError(ArtkitError):
    """A plugin could not be loaded or misbehaved."""


class CheckpointError(ArtkitError):
    """A checkpoint file is missing, corrupt, pickled, or does not fit its model."""


class ImageError(ArtkitError):
    """An image could not be read or written."""


class CapabilityError(UsageError):
    """A model was asked for something it cannot do (e.g. `sample` on a style network)."""


class ArtkitWarning(UserWarning):
    """Something to know that is not an error; the CLI prints it as one ``artkit: warning:`` line."""
