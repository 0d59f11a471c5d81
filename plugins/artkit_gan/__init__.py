"""artkit_gan: the built-in GAN family -- models, GAN losses and DiffAugment.

Registered exactly like a third-party plugin (entry point ``gan``). Nothing
heavy is imported here: factories are ``"module:attr"`` strings and the
parameters come from the torch-free dataclasses in :mod:`artkit_gan.configs`.
"""

from artkit import hookimpl


@hookimpl
def register_models(register):
    # imported here, not at the top: every command imports this package at start-up,
    # and only those that need the models registry pay for the config dataclasses
    from artkit_gan.configs import DCGANConfig, FastGANConfig, MLPGANConfig, ShapeGANConfig

    register(
        "mlp-gan",
        "artkit_gan.torch_model:build_mlp_gan",
        description="Fully connected GAN (Goodfellow 2014), any size; quick on small images.",
        params=MLPGANConfig,
        test_config={"resolution": 8, "hidden": 16},
    )
    register(
        "dcgan",
        "artkit_gan.torch_model:build_dcgan",
        description="Deep convolutional GAN (Radford 2015) at 32, 64 or 128 px; grey, RGB or RGBA.",
        params=DCGANConfig,
        test_config={"resolution": 32, "width": 0.125},
        recipe="artkit_gan.recipes:dcgan_recipe",
    )
    register(
        "fastgan",
        "artkit_gan.torch_fastgan:build_fastgan",
        description=(
            "Lightweight GAN for few images (Liu 2021): skip-layer excitation, "
            "self-supervised D; 32-128 px, quick on CPU."
        ),
        params=FastGANConfig,
        test_config={"resolution": 32, "width": 0.125},
        recipe="artkit_gan.recipes:fastgan_recipe",
    )
    register(
        "shapegan",
        "artkit_gan.torch_fastgan:build_shapegan",
        description=(
            "Paints each picture with a few flat shapes (boxes, discs, triangles, rings, "
            "arcs) from an MLP; crisp edges for graphic art; fastgan's D."
        ),
        params=ShapeGANConfig,
        test_config={"resolution": 32, "width": 0.125, "hidden": 32, "shapes": 3},
        recipe="artkit_gan.recipes:shapegan_recipe",
    )


@hookimpl
def register_losses(register):
    for name, cls, text in (
        ("bce", "BCELoss", "Binary cross-entropy: non-saturating GAN loss, VAE reconstruction."),
        ("hinge", "HingeLoss", "Hinge GAN loss (SAGAN/BigGAN)."),
        ("lsgan", "LSGANLoss", "Least-squares GAN loss."),
        ("wgan-gp", "WGANGPLoss", "Wasserstein critic loss with gradient penalty."),
    ):
        # bce also has ``reconstruction``: one entry serves GANs and autoencoders (VAE)
        family = ("gan", "reconstruction") if name == "bce" else "gan"
        register(name, f"artkit.nn.gan_losses:{cls}", description=text, family=family)
