"""artkit_translate: image-to-image translation -- pix2pix, colourisation of black-and-white photos.

Registered exactly like a third-party plugin (entry point ``translate``). Nothing
heavy is imported here: the factory is a ``"module:attr"`` string and the
parameters come from the torch-free dataclass in :mod:`artkit_translate.configs`.
The paired datasets it trains on (``paired``, ``side-by-side``) live with the
other built-in datasets in :mod:`artkit_data`; ``artkit translate`` applies a
trained model to images of any size.
"""

from artkit import hookimpl


@hookimpl
def register_models(register):
    from artkit_translate.configs import Pix2PixConfig  # only when models are listed

    register(
        "pix2pix",
        "artkit_translate.torch_model:build_pix2pix",
        description="pix2pix image-to-image translation (U-Net + PatchGAN): colourise photos or learn A -> B from pairs.",
        params=Pix2PixConfig,
        test_config={"resolution": 32, "width": 8, "d_width": 8},
    )


@hookimpl
def register_commands(app):
    # typer only at import; torch is imported inside the command
    from artkit_translate.cli_translate import attach

    attach(app)
