"""artkit-plugin-cppn: an example third-party artkit plugin, one hook of each kind.

- model ``cppn``: a random compositional pattern-producing network; no training,
  any resolution (``artkit sample cppn:width=1024,height=1024 -n 8``);
- model ``tinygan``: a tiny trainable conv GAN with a sampling option of its own,
  ``contrast`` (``artkit train tinygan --data shapes --steps 300``);
- post-processor ``pixelsort``: sort runs of pixels by brightness;
- GAN loss ``ragan``: relativistic average GAN, usable by the built-in ``dcgan``;
- command ``artkit cppn-zoom``: an endless zoom into a pattern, as an animation.

Nothing heavy is imported here: factories are ``"module:attr"`` strings, so
``artkit --help`` and ``artkit list`` never import torch because of this plugin.
"""

from artkit import hookimpl
from artkit_plugin_cppn.configs import CPPNConfig, PixelSortConfig, TinyGANConfig

__version__ = "0.1.0"


@hookimpl
def register_models(register):
    register(
        "cppn",
        "artkit_plugin_cppn.torch_cppn:build_cppn",
        description="Random CPPN patterns (Stanley 2007): no training, any resolution, latent walks.",
        params=CPPNConfig,
        # what artkit.testing.check_model builds it with: small and quick
        test_config={"width": 24, "height": 16, "colour": "hsv"},
    )
    register(
        "tinygan",
        "artkit_plugin_cppn.torch_tinygan:build_tinygan",
        description="A tiny trainable conv GAN (the contract, shown); sample it with contrast=...",
        params=TinyGANConfig,
        test_config={"resolution": 16, "width": 8},  # check_model trains it two steps
        test_data="shapes:count=8",
    )


@hookimpl
def register_postprocessors(register):
    register(
        "pixelsort",
        "artkit_plugin_cppn.pixelsort:pixelsort",
        description=PixelSortConfig.__doc__,
        params=PixelSortConfig,
        keeps_size=True,  # a promise artkit.testing.check_postprocessor holds it to
    )


@hookimpl
def register_losses(register):
    register(
        "ragan",
        "artkit_plugin_cppn.nn_ragan:RaGANLoss",
        description="Relativistic average GAN loss (Jolicoeur-Martineau 2018).",
        family="gan",
    )


@hookimpl
def register_commands(app):
    from artkit_plugin_cppn.zoom import cppn_zoom

    app.command("cppn-zoom")(cppn_zoom)
