"""artkit_style: neural style transfer -- feature extractors, Gatys optimisation, fast networks.

Registered exactly like a third-party plugin (entry point ``style``). Nothing heavy
is imported here: factories are ``"module:attr"`` strings and parameters come from
the torch-free dataclasses in :mod:`artkit_style.configs`.
"""

from artkit import hookimpl


@hookimpl
def register_models(register):
    from artkit_style.configs import FastStyleConfig  # only when models are listed

    # -- fast feed-forward style networks (artkit_style.torch_fast) --------------
    register(
        "fast-style",
        "artkit_style.torch_fast:build_fast_style",
        description="Johnson-style feed-forward style network: trained once per style, then stylises in real time.",
        params=FastStyleConfig,
        # "{tiny_image}": artkit.testing.check_model writes a small picture and passes its path
        test_config={
            "style": "{tiny_image}",
            "width": 4,
            "residual_blocks": 1,
            "resolution": 32,
            "extractor": "random-multiscale",
            "style_size": 32,
        },
    )


@hookimpl
def register_extractors(register):
    from artkit_style.configs import RandomMultiscaleConfig, VGGExtractorConfig

    register(
        "vgg19",
        "artkit_style.nn_extractors:build_vgg19",
        description="VGG19 ImageNet features (Gatys et al.); weights from --weights, artkit's cache or torch hub.",
        params=VGGExtractorConfig,
    )
    register(
        "vgg16",
        "artkit_style.nn_extractors:build_vgg16",
        description="VGG16 ImageNet features; weights from --weights, artkit's cache or torch hub.",
        params=VGGExtractorConfig,
    )
    register(
        "random-multiscale",
        "artkit_style.nn_extractors:build_random_multiscale",
        description="Random conv features on an image pyramid (Ustyuzhaninov 2017); needs no weights.",
        params=RandomMultiscaleConfig,
    )


@hookimpl
def register_assets(register):
    for name, label in (("vgg19", "VGG19"), ("vgg16", "VGG16")):
        register(
            f"{name}-weights",
            f"artkit_style.extractors:locate_{name}",
            description=f"ImageNet {label} weights (perceptual style features)",
            install=f"artkit weights import {name} {name}-*.pth (torchvision's file)",
            instead="style transfer falls back to extractor=random-multiscale",
            # `artkit weights import NAME FILE` / `artkit weights list` use these
            weights=name,
            importer=f"artkit_style.weights:import_{name}",
            sources=f"artkit_style.weights:sources_{name}",
        )


@hookimpl
def register_stylizers(register):
    register(
        "gatys",
        "artkit_style.gatys_jobs:GatysJobs",
        description="Gatys et al.: optimise each picture towards the style (series with style images, reproduce).",
    )


@hookimpl
def register_commands(app):
    # typer only at import; torch and the style networks load inside the command
    from artkit_style.cli_stylize import attach

    attach(app)
