"""artkit_vae: the built-in VAE family -- conv VAE, beta-VAE and reconstruction losses.

Registered exactly like a third-party plugin (entry point ``vae``). Nothing
heavy is imported here: factories are ``"module:attr"`` strings and the
parameters come from the torch-free dataclasses in :mod:`artkit_vae.configs`.

Reconstruction losses implement ``reconstruction(x_hat, x) -> Tensor (N,)``
(per image, summed over pixels, float32); the VAE trains with any registered
loss that has that method. This plugin registers ``mse`` and ``l1``; ``bce``
(shared with the GAN family) comes from :mod:`artkit_gan`.
"""

from artkit import hookimpl


@hookimpl
def register_models(register):
    from artkit_vae.configs import BetaVAEConfig, VAEConfig  # only when models are listed

    register(
        "vae",
        "artkit_vae.torch_model:build_vae",
        description="Convolutional variational autoencoder at 32, 64 or 128 px: sample, encode, decode, morph.",
        params=VAEConfig,
        test_config={"resolution": 32, "width": 0.125, "z_dim": 8},
        recipe="artkit_vae.recipes:vae_recipe",
    )
    register(
        "beta-vae",
        "artkit_vae.torch_model:build_beta_vae",
        description="VAE with a heavier KL weight (beta=4 by default) for smoother, disentangled latents.",
        params=BetaVAEConfig,
        test_config={"resolution": 32, "width": 0.125, "z_dim": 8},
        recipe="artkit_vae.recipes:vae_recipe",  # the same networks as vae's
    )


@hookimpl
def register_losses(register):
    for name, cls, text in (
        ("mse", "MSELoss", "Squared error summed over pixels (Gaussian decoder); the VAE default."),
        ("l1", "L1Loss", "Absolute error summed over pixels (Laplace decoder): crisper edges."),
    ):
        register(name, f"artkit_vae.nn_losses:{cls}", description=text, family="reconstruction")
