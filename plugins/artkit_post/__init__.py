"""artkit_post: the built-in post-processors (Pillow and numpy; never torch).

Each step is a function ``fn(image, **params) -> image`` registered as a lazy
``"artkit_post.<module>:<name>"`` string, with its parameters described by a
dataclass in :mod:`artkit_post.configs`; so ``artkit list post`` imports only
that module (neither numpy nor torch), and numpy loads with the first step
that needs it.
"""

from artkit import hookimpl


def steps() -> dict[str, tuple[type, ...]]:
    """module -> the configs of the steps it implements (function name = step name).

    A function, so that importing this package (every command does, at start-up)
    does not build some thirty dataclasses; only commands that use post steps do.
    """
    from artkit_post import configs as c

    return {
        "geometry": (
            c.ResizeConfig,
            c.CropConfig,
            c.FitConfig,
            c.PadConfig,
            c.UpscaleConfig,
            c.MirrorConfig,
            c.FlipConfig,
            c.KaleidoscopeConfig,
            c.TileConfig,
        ),
        "frames": (c.BorderConfig, c.FrameConfig),
        "colour": (
            c.GradeConfig,
            c.PosterizeConfig,
            c.GreyscaleConfig,
            c.SepiaConfig,
            c.InvertConfig,
            c.FlattenConfig,
        ),
        "palette": (c.PaletteConfig,),
        "effects": (
            c.SharpenConfig,
            c.BlurConfig,
            c.PixelateConfig,
            c.GrainConfig,
            c.VignetteConfig,
            c.HalftoneConfig,
        ),
    }


@hookimpl
def register_postprocessors(register):
    for module, configs in steps().items():
        for config in configs:
            register(
                config.NAME,
                f"artkit_post.{module}:{config.NAME}",
                description=(config.__doc__ or "").strip(),
                params=config,
                test_params=getattr(config, "TEST_PARAMS", {}),
                # a promise artkit.testing.check_postprocessor holds them to
                keeps_size=module not in ("geometry", "frames"),
            )
