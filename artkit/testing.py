"""Helpers for testing artkit plugins (and artkit itself).

- :func:`plugin_registered` registers a plugin object for the duration of a
  ``with`` block; the ``artkit_plugin`` pytest fixture does the same for one test
  (installing artkit makes it available everywhere, through the ``pytest11`` entry
  point :mod:`artkit.pytest_plugin`; no conftest needed);
- :func:`run_cli` runs the artkit command line in-process, with every plugin the
  current host sees, and returns the result (exit code, stdout, stderr);
- :func:`requires_asset` skips a test that needs an optional system asset (a
  font, weights, ffmpeg) where it is missing -- or hidden by
  ``ARTKIT_SYSTEM_ASSETS=none`` -- with a reason that says how to install it;
- :func:`tiny_images` makes a few small, varied, real pictures in code;
  :func:`tiny_image_folder` writes them into a folder, a dataset for
  ``artkit train --data folder:path=...`` or input for ``artkit post -i``;
- :func:`check_model`, :func:`check_loss`, :func:`check_postprocessor`,
  :func:`check_dataset` and :func:`check_extractor` check a registered component
  against artkit's contracts (see :mod:`artkit.conformance`; the built-ins pass the
  same checks); a broken rule is a :class:`ConformanceError` that names it.

Imports nothing heavy at module level: pytest loads this module (through the
fixture) in every test session of an environment where artkit is installed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# the checks live in artkit.conformance; artkit.testing is the one module a plugin's tests import
from artkit.conformance import (
    ConformanceError,
    check_dataset,
    check_extractor,
    check_loss,
    check_model,
    check_postprocessor,
)
from artkit.tiny import tiny_image_folder, tiny_images


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


def requires_asset(name: str) -> Any:
    """A pytest mark: skip unless the optional asset ``name`` (see ``artkit doctor``) is here.

    The reason names the asset and the line that installs it, e.g.
    ``needs system fonts (the glyphs dataset without fonts=): apt-get install fonts-dejavu-core ...``.
    """
    import pytest

    from artkit.assets import skip_reason

    reason = skip_reason(name)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def run_cli(args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None):
    """Invoke ``artkit ARGS`` in-process; returns typer's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    # The one import of artkit.cli outside the CLI (tests/test_layers.py allows it):
    # running the command line is what this helper is for, and it is lazy.
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


# --------------------------------------------------------------------------- fixtures


def register_plugin_fixture() -> Any:
    """Build the ``artkit_plugin`` pytest fixture (:mod:`artkit.pytest_plugin` exposes it)."""
    import pytest

    @pytest.fixture
    def artkit_plugin() -> Iterator[Callable[..., Any]]:
        """``artkit_plugin(plugin, name=None)`` registers a plugin object (or module) for this test only."""
        with contextlib.ExitStack() as stack:

            def register(plugin: Any, name: str | None = None) -> Any:
                return stack.enter_context(plugin_registered(plugin, name))

            yield register

    return artkit_plugin


__all__ = [
    "ConformanceError",
    "check_dataset",
    "check_extractor",
    "check_loss",
    "check_model",
    "check_postprocessor",
    "plugin_registered",
    "register_plugin_fixture",
    "run_cli",
    "tiny_image_folder",
    "tiny_images",
]
