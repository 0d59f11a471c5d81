"""Validators for model config dataclasses: typed fields with help, one-line errors.

A model's config is a plain dataclass (torch-free: ``artkit list models`` reads
its fields) that checks itself in ``__post_init__``. These helpers keep every
family's fields and messages alike::

    @dataclass
    class MyConfig:
        width: int = option(64, "channels at full resolution")

        def __post_init__(self) -> None:
            require(int_in(self.width, 4, 1024), "my-model", "width", self.width,
                    "an integer from 4 to 1024")

which raises ``my-model: width=3 is not allowed; use an integer from 4 to 1024``.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from artkit.errors import UsageError

#: image channel counts every model family accepts: grey, RGB, RGBA
IMAGE_CHANNELS = (1, 3, 4)


def option(default: Any, help: str, *, files: str | None = None) -> Any:
    """A dataclass field with a default and the ``help`` the CLI and ``artkit list`` show.

    ``files``: the value is a file path (``""``) or several joined by that separator;
    see :attr:`artkit.registry.Param.files`.
    """
    metadata = {"help": help} | ({"files": files} if files is not None else {})
    return field(default=default, metadata=metadata)


def require(ok: bool, owner: str, name: str, value: Any, allowed: str) -> None:
    """Raise ``owner: name=value is not allowed; use allowed`` (a UsageError) unless ``ok``."""
    if not ok:
        raise UsageError(f"{owner}: {name}={value!r} is not allowed; use {allowed}")


def int_in(value: Any, lo: int, hi: float = math.inf) -> bool:
    """A real int (not a bool) with ``lo <= value <= hi``."""
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def number_in(
    value: Any,
    lo: float,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> bool:
    """A finite int or float (not a bool) within ``lo``..``hi``, either end open on request."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return False
    above = lo < value if lo_open else lo <= value
    below = value < hi if hi_open else value <= hi
    return above and below
