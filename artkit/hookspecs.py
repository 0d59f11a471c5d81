"""The artkit plugin API: every hook a plugin may implement.

Each docstring below is the reference for its hook (README's "Hook reference"
repeats them and a test keeps the two in step). Hooks are called with keyword
arguments, so an implementation may accept any subset of a spec's arguments.
Specs only ever gain arguments; none is removed or renamed within a major version.

The ``register`` callbacks take ``(name, factory, *, description="", params=None)``:

- ``factory`` is a callable, or a ``"module:attribute"`` string that is imported
  only when the entry is first used -- so a plugin's ``__init__`` never has to
  import torch;
- ``params`` is a config dataclass (its fields, types and defaults become the
  entry's typed parameters) or a list of :class:`artkit.registry.Param`.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("artkit")


@hookspec
def register_models(register):
    """Register model families (GANs, VAEs, style networks...) by calling ``register(name, factory, ...)``."""


@hookspec
def register_losses(register):
    """Register loss functions (GAN, reconstruction, perceptual) by calling ``register(name, factory, ...)``."""


@hookspec
def register_datasets(register):
    """Register image datasets by calling ``register(name, factory, ...)``; factories return an indexable image source."""


@hookspec
def register_postprocessors(register):
    """Register PIL-to-PIL post-processors by calling ``register(name, function, ...)``; they must not import torch."""


@hookspec
def register_extractors(register):
    """Register feature extractors (for style and perceptual losses, and evaluation) by calling ``register(name, factory, ...)``."""


@hookspec
def register_stylizers(register):
    """Register optimisation-based style transfer methods (Gatys) for series with style images by calling ``register(name, cls, ...)``."""


@hookspec
def register_media(register):
    """Register output media beyond images (MIDI, audio...) by calling ``register(name, medium, ...)``; a model picks one with ``output_kind``."""


@hookspec
def register_assets(register):
    """Declare optional system assets (fonts, weights, programs) by calling ``register(name, check, install=..., instead=...)``; ``artkit doctor`` shows them."""


@hookspec
def register_commands(app):
    """Add subcommands to the ``artkit`` command line by calling ``app.command()`` or ``app.add_typer()`` on it."""
