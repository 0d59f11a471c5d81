"""Shared fixtures: every test starts with a fresh plugin host, a clean environment and its own cache folder."""

from __future__ import annotations

import pytest

import artkit.plugins


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch, tmp_path_factory):
    for var in ("ARTKIT_LOAD_PLUGINS", "ARTKIT_DISABLE_PLUGINS", "ARTKIT_PLUGINS_DIR"):
        monkeypatch.delenv(var, raising=False)
    # caches (decoded datasets, imported weights) go to a per-test folder, never ~/.cache
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(tmp_path_factory.mktemp("artkit-cache")))
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


@pytest.fixture
def own_assets(monkeypatch):
    """For a test that makes its own stand-in asset (a font folder, a hub cache) in tmp:
    look it up even in CI's bare leg, where ARTKIT_SYSTEM_ASSETS=none hides the machine's."""
    monkeypatch.delenv("ARTKIT_SYSTEM_ASSETS", raising=False)


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module that trains or renders in-process.

    Two busy-waiting intra-op threads on a shared 2-core box (CI, helpers, the other
    half of a pair of jobs) are 10-50x slower than one. Modules ask for it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
