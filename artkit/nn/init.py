"""The DCGAN weight initialisation (Radford et al. 2015), shared by every conv family.

Small weights matter to adversarial and translation models alike: a generator that
starts near zero output (grey) has no loud random colour to unlearn first.
"""

from __future__ import annotations

from torch import nn


def dcgan_init(module: nn.Module, *, norm_std: float = 0.02) -> nn.Module:
    """Conv/linear weights ~ N(0, 0.02), BatchNorm scales ~ N(1, ``norm_std``), biases 0.

    ``norm_std=0`` sets the scales to exactly 1 without drawing from the RNG (the
    VAE's choice), so the networks built after it see the same random stream.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            if norm_std:
                nn.init.normal_(m.weight, 1.0, norm_std)
            else:
                nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module
