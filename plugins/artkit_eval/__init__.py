"""artkit_eval: feature extractors for ``artkit eval`` and ``--eval-every``.

Registered like any plugin (entry point ``eval``); the networks live in
:mod:`artkit.eval.features` and load only when used. ``vgg16`` (from artkit_style)
works for evaluation too: its deepest style layer is average-pooled. ``classifier``
trains its network on a labelled dataset the first time it is used (cached after).
"""

from artkit import hookimpl


@hookimpl
def register_extractors(register):
    from artkit_eval.configs import (  # only when extractors are listed
        CheckpointFeaturesConfig,
        ClassifierFeaturesConfig,
        InceptionConfig,
        RandomConvConfig,
    )

    register(
        "inception",
        "artkit.eval.inception:build_inception",
        description="FID Inception-v3 (pytorch-fid weights from --weights or the caches); FID only with them.",
        params=InceptionConfig,
        family="embedding",
    )
    register(
        "random-conv",
        "artkit.eval.features:build_random_conv",
        description="Random conv features for evaluation: no weights, comparable only with itself.",
        params=RandomConvConfig,
        family="embedding",
    )
    register(
        "classifier",
        "artkit.eval.classifier:build_classifier",
        description="A small CNN trained on a labelled dataset (shapes, idx + labels), cached; comparable only with itself.",
        params=ClassifierFeaturesConfig,
        family="embedding",
        # one shape a picture, so 150 steps (about 10 s) learn it well above chance
        test_params={"data": "shapes:count=1024,min_shapes=1,max_shapes=1", "steps": 150},
    )
    register(
        "checkpoint",
        "artkit.eval.features:build_checkpoint_features",
        description="Features of an artkit model: a VAE encoder's mean or a GAN discriminator's last layer.",
        params=CheckpointFeaturesConfig,
        family="embedding",
    )


@hookimpl
def register_assets(register):
    register(
        "inception-weights",
        "artkit.eval.weight_paths:locate_fid_weights",
        description="the FID Inception-v3 weights (standard FID numbers)",
        install="artkit weights import inception pt_inception-2015-12-05-6726825d.pth",
        instead="artkit eval --features random-conv (comparable only with itself)",
        weights="inception",
        importer="artkit_eval.weights:import_inception",
        sources="artkit_eval.weights:sources_inception",
    )
