"""pytest fixtures for artkit plugin authors, loaded through the ``pytest11`` entry point.

Installing artkit makes them available in any test suite::

    def test_my_step(artkit_plugin):
        artkit_plugin(MyPlugin())          # registered for this test only
        check_postprocessor("my-step")

Imports nothing heavy: pytest loads this module in every session of the environment.
"""

from artkit.testing import register_plugin_fixture

artkit_plugin = register_plugin_fixture()
