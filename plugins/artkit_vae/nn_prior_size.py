"""How many Gaussians the fitted prior may have before its samples copy (``prior_copy_test``).

More, smaller Gaussians bring a VAE's prior samples nearer its data (lower FD), and
past some size nearer the training images than new images lie: the samples copy.
Where that starts depends on the data (on 2 cores, ``shapes`` copied past one
Gaussian per 16 training images, OpenMoji not at one per 4; see
:mod:`artkit_vae.recipes`), so the size is tested per run rather than fixed.

The test holds a fifth of the training images out of the mixture (not out of the
VAE, which has seen them all): the mixture is fitted to the other codes, its samples
decoded, and the data-copying test (:func:`artkit.eval.metrics.data_copying`, in
random-conv features) asks whether they lie nearer the fitted images than the held-out
ones do. On the two datasets above the held-out fifth gave the same z-scores as unseen
images, within 0.4. Sizes are tried from the largest, halving, and the first whose
samples do not copy is kept; if even the smallest copies, it is kept with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from artkit.errors import ArtkitWarning
from artkit_vae.nn_prior import fit_gmm, sample_gmm

#: share of the training codes the mixture under test does not see
HELD_OUT = 0.2
#: C_T below this: the samples sit nearer the training images than new data (copying)
COPIES_BELOW = -3.0
#: decoded samples per size tried
SAMPLES = 2000
#: halvings tried after the largest size (the last is kept even if it copies)
HALVINGS = 2
#: fewer codes than this: too few held out to test, the largest size is kept
MIN_CODES = 100


def sizes_to_try(most: int) -> list[int]:
    """``most``, then halved :data:`HALVINGS` times (never below 1, no repeats)."""
    sizes = [max(1, most >> i) for i in range(HALVINGS + 1)]
    return list(dict.fromkeys(sizes))


def size_by_copying(
    codes: Tensor,
    features: Tensor,
    most: int,
    decode: Callable[[Tensor], Tensor],
    embed: Callable[[Tensor], Tensor],
    *,
    seed: int = 0,
) -> tuple[int, float | None]:
    """``(components, C_T)``: the largest of :func:`sizes_to_try` whose samples do not copy.

    ``codes`` ``(N, z_dim)`` and ``features`` ``(N, F)`` are the training images' codes
    and features, row for row; ``decode`` maps latents to images and ``embed`` images
    to the same features. The size counts Gaussians for all ``N`` codes: the mixture
    under test gets the same number of codes per Gaussian. C_T is None where there
    were too few codes to test (:data:`MIN_CODES`).
    """
    from artkit.eval.metrics import data_copying

    n = len(codes)
    if n < MIN_CODES:
        return min(most, n), None
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    held, fitted = order[: int(n * HELD_OUT)], order[int(n * HELD_OUT) :]
    size, score = most, None
    for size in sizes_to_try(min(most, n)):
        k = max(1, round(size * len(fitted) / n))
        weights, means, chol = fit_gmm(codes[fitted], k, seed)
        latents = sample_gmm(weights, means, chol, SAMPLES, torch.Generator().manual_seed(seed))
        samples = torch.cat([embed(decode(z)) for z in latents.split(250)])
        report = data_copying(features[fitted], features[held], samples.to(features.device))
        score = float(report["copying_z"])
        if score >= COPIES_BELOW:
            break
    else:  # the last size tried is kept, but the run should say its samples copy
        warnings.warn(
            ArtkitWarning(
                f"the VAE's prior still copies at {size} Gaussians (data-copying C_T "
                f"{score:.2f}, below {COPIES_BELOW:g}): its samples repeat training images; "
                "use fewer prior_components or more training images"
            ),
            stacklevel=2,
        )
    return size, score
