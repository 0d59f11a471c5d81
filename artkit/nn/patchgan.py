"""The PatchGAN discriminator (Isola et al. 2017): one real/fake logit per overlapping patch.

Conditional: it judges (input, output) pairs stacked on the channel axis, so a
translation model's critic sees what the output should correspond to. Fully
convolutional: any image size gives a grid of logits ``(N, 1, h, w)``.
"""

from __future__ import annotations

from torch import Tensor, nn

from artkit.nn.init import dcgan_init
from artkit.nn.unet import norm_layer


class PatchDiscriminator(nn.Module):
    """(input, output) pairs stacked on channels -> a grid of real/fake logits, one per patch.

    ``layers`` stride-2 4x4 convolutions (channels doubling up to 8x ``width``), one
    stride-1 layer, then a 1-channel stride-1 layer: with 3 layers each logit sees a
    70x70 patch, the paper's choice.
    """

    def __init__(self, in_channels: int, *, width: int = 64, layers: int = 3, norm: str = "batch"):
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2**i, 8)
            stride = 2 if i < layers else 1
            seq += [
                nn.Conv2d(channels, out, 4, stride, 1, bias=False),
                norm_layer(norm, out),
                nn.LeakyReLU(0.2),
            ]
            channels = out
        seq.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)
        dcgan_init(self)

    def forward(self, pair: Tensor) -> Tensor:
        return self.net(pair)
