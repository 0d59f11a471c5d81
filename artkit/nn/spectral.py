"""Spectral normalisation (Miyato et al. 2018) for discriminator blocks.

Bounding each layer's Lipschitz constant keeps a discriminator from overpowering
its generator without BatchNorm's batch coupling (real and fake may then share
one forward call, which is faster and what DDP wants).
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral norm on every conv, linear and embedding layer of ``module`` (the logit layer
    and a projection discriminator's class embedding included).

    Apply it after initialising the weights: the power iteration starts from them.
    Checkpoint keys become ``...parametrizations.weight.original`` and friends.
    """
    for m in [m for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding)]:
        spectral_norm(m)
    return module
