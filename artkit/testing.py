"""Helpers for testing artkit and artkit plugins.

- :func:`plugin_registered` registers a plugin object for the duration of a
  ``with`` block (inline plugin classes in tests, as in simonw/llm);
- :func:`run_cli` runs the artkit command line in-process and returns the result
  (exit code, stdout, stderr), with plugins from the current host.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[Any]:
    """Register ``plugin`` (an object or module with ``@artkit.hookimpl`` functions) for one block."""
    from artkit.plugins import get_host

    host = get_host()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    host.pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        host.pm.unregister(name=name)
        host.infos.pop(name, None)


def run_cli(args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None):
    """Invoke ``artkit ARGS`` in-process; returns typer's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from artkit.cli import build_full_app

    runner = CliRunner()
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        app = build_full_app(list(args))
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
