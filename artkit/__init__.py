"""artkit: a plugin-based generative-art toolkit for the command line, and a Python API.

This module must stay cheap to import: it is loaded by every command, including
`artkit --help`. Only the version and the pluggy hookimpl marker live here; the
public API names (``artkit.load``, ``artkit.train``, ``artkit.render``,
``artkit.evaluate``, ``artkit.post``, ``artkit.save``, ``artkit.save_grid``) are
resolved lazily on first use, and none of them imports torch until it runs.
"""

import importlib
from typing import Any

import pluggy

__version__ = "0.1.0"

#: Decorate plugin functions with ``@artkit.hookimpl`` to implement a hook.
hookimpl = pluggy.HookimplMarker("artkit")

# name -> (module, attribute or None for the module itself). ``artkit.train`` and
# ``artkit.render`` are the packages of those names, made callable (see their __init__).
_LAZY = {
    "load": ("artkit.api.model", "load"),
    "Model": ("artkit.api.model", "Model"),
    "TrainedRun": ("artkit.api.train", "TrainedRun"),
    "save": ("artkit.api.output", "save"),
    "save_grid": ("artkit.api.output", "save_grid"),
    "save_images": ("artkit.api.output", "save_images"),
    "post": ("artkit.post", None),
    "train": ("artkit.train", None),
    "render": ("artkit.render", None),
    "evaluate": ("artkit.api.evaluate", "evaluate"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        return value if attr is None else getattr(value, attr)
    raise AttributeError(f"module 'artkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Model",
    "__version__",
    "evaluate",
    "hookimpl",
    "load",
    "post",
    "render",
    "save",
    "save_grid",
    "save_images",
    "train",
]
