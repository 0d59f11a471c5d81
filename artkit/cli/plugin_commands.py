"""Plugin commands: what a plugin's ``register_commands(app)`` receives.

Each plugin gets its own :class:`PluginApp`, a thin guard around the root Typer
app. Command names clash like registry names: a built-in command (``info``,
``train``...) or one an earlier plugin added keeps its name, the newcomer's command
is not added, and one warning names both. Everything else (``app.callback``,
``app.info``...) passes through to the root app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def taken_names(app: typer.Typer) -> dict[str, str]:
    """The command and group names ``app`` already has, each owned by ``"artkit"``."""
    from typer.main import get_command_name

    names = [
        c.name or get_command_name(c.callback.__name__)
        for c in app.registered_commands
        if c.callback is not None
    ]
    names += [g.name or g.typer_instance.info.name for g in app.registered_groups]
    return {str(n): "artkit" for n in names if n}


class PluginApp:
    """The root app as one plugin sees it: same API, but a clashing name is refused."""

    def __init__(
        self,
        app: typer.Typer,
        plugin: str,
        taken: dict[str, str],
        report: Callable[[str, str], None],
    ):
        self._app, self._plugin, self._taken, self._report = app, plugin, taken, report

    def _claim(self, name: str) -> bool:
        owner = self._taken.get(name)
        if owner is None:
            self._taken[name] = self._plugin
            return True
        whose = "a built-in command" if owner == "artkit" else f"plugin {owner!r}'s command"
        self._report(
            self._plugin,
            f"command {name!r} clashes with {whose}; the plugin's {name!r} was not added",
        )
        return False

    def command(self, name: str | None = None, *args: Any, **kwargs: Any) -> Callable:
        """``app.command()``: adds the command unless its name is taken."""

        def decorator(fn: Callable) -> Callable:
            from typer.main import get_command_name

            if self._claim(name or get_command_name(fn.__name__)):
                return self._app.command(name, *args, **kwargs)(fn)
            return fn

        return decorator

    def add_typer(self, typer_instance: typer.Typer, *args: Any, **kwargs: Any) -> None:
        """``app.add_typer()``: adds the group unless its name is taken."""
        name = kwargs.get("name") or typer_instance.info.name
        if not name or self._claim(str(name)):
            self._app.add_typer(typer_instance, *args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._app, attr)
