"""Stand-ins for ``rich.markdown`` and ``rich.traceback`` until something really uses them.

typer's help and error formatting (``typer.rich_utils``) imports both at its top,
and they import markdown-it, ``rich.syntax`` and pygments: about 60% of what
``artkit --help`` spends importing typer's rich formatting (``python -X importtime``).
typer builds a ``Markdown`` only under ``rich_markup_mode="markdown"`` (artkit uses
the default, ``"rich"``) and a ``Traceback`` only for pretty exceptions (artkit turns
them off), so help and usage errors never need either.

:func:`defer_rich_imports` registers a stand-in module for each whose class and every
other attribute import the real module on first use and hand over to it (the
stand-in then leaves ``sys.modules``). A program that uses them after artkit's CLI
has started gets the real thing, a moment later. ``artkit --help`` prints the same
bytes either way (tests/test_startup.py).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

#: module -> the class typer imports from it
DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def defer_rich_imports() -> None:
    """Put the stand-ins in place, each unless its real module is already imported."""
    for name, cls in DEFERRED.items():
        if name not in sys.modules:
            _stand_in(name, cls)


def _stand_in(name: str, cls_name: str) -> None:
    import rich  # the package alone is light; typer imports it anyway

    leaf = name.rpartition(".")[2]
    module = types.ModuleType(name, "artkit's stand-in; see artkit.cli.lazy_rich")

    def real() -> types.ModuleType:
        if sys.modules.get(name) is module:
            del sys.modules[name]
        found = importlib.import_module(name)
        setattr(rich, leaf, found)
        return found

    class Forward(type):
        # class attributes (Traceback.from_exception) come from the real class
        def __getattr__(cls, attr: str) -> Any:
            return getattr(getattr(real(), cls_name), attr)

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(real(), cls_name)(*args, **kwargs)

    proxy = Forward(cls_name, (), {"__new__": new, "__module__": name})

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):  # the import system asks for __path__, __spec__...
            raise AttributeError(attr)
        return getattr(real(), attr)

    setattr(module, cls_name, proxy)
    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    setattr(rich, leaf, module)
