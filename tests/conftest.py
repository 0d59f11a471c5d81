"""Shared fixtures: every test starts with a fresh plugin host and a clean environment."""

from __future__ import annotations

import pytest

import artkit.plugins


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    for var in ("ARTKIT_LOAD_PLUGINS", "ARTKIT_DISABLE_PLUGINS", "ARTKIT_PLUGINS_DIR"):
        monkeypatch.delenv(var, raising=False)
    artkit.plugins.reset()
    yield
    artkit.plugins.reset()


@pytest.fixture
def toy_plugin():
    """Register the tiny test model family from tests/toy_plugin.py for one test."""
    from artkit.testing import plugin_registered
    from tests import toy_plugin

    with plugin_registered(toy_plugin, name="toy"):
        yield toy_plugin
