"""Optimisation-based style transfer for series: found in the registry, never imported by name.

Series whose ``style`` axis lists style *images* run an optimisation per picture
(Gatys et al.). The method comes from a plugin's ``register_stylizers`` hook (the
built-in ``style`` plugin registers ``gatys``); its factory is a class with
``OPTIONS`` (name -> type of each option a spec may set), ``check_option(name,
value, key)`` and ``__init__(device, quiet=True)`` whose ``resolve(options)`` and
``run(content, styles, weights, options)`` make one picture.
"""

from __future__ import annotations

from typing import Any

from artkit.errors import ArtkitError


def stylizer(name: str = "gatys") -> Any:
    """The registered stylizer class ``name``; a one-line error when no plugin provides it."""
    from artkit.plugins import get_registry

    registry = get_registry("stylizers")
    if name not in registry:
        raise ArtkitError(
            f"series with style images need the {name!r} stylizer, which no loaded plugin "
            "provides (the built-in one is in the 'style' plugin: see `artkit plugins`)"
        )
    return registry.get(name).factory
