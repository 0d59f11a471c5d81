"""artkit: a plugin-based generative-art toolkit for the command line.

This module must stay cheap to import: it is loaded by every command, including
`artkit --help`. Only the version and the pluggy hookimpl marker live here.
"""

import pluggy

__version__ = "0.1.0"

#: Decorate plugin functions with ``@artkit.hookimpl`` to implement a hook.
hookimpl = pluggy.HookimplMarker("artkit")

__all__ = ["__version__", "hookimpl"]
