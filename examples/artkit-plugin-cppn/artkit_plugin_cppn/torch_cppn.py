"""The ``cppn`` model: a random MLP painting f(x, y, r, z) -> colour at every pixel.

A compositional pattern-producing network (Stanley 2007) never sees an image: its
weights are drawn at random from ``net_seed`` (or read from a checkpoint), and each
pixel's colour is the network evaluated at that pixel's coordinates plus a latent
vector ``z``. Coordinates are continuous, so the same pattern renders at any
resolution, and nearby ``z`` give related patterns, which makes latent walks smooth.
``net_seed`` picks the network (its palette and style), the sample seed picks ``z``.
Pixels are evaluated in chunks, so a 1024x1024 image needs a few MB at a time, not
the whole hidden activation grid at once.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.model import LatentModel
from artkit_plugin_cppn.configs import CPPNConfig

#: pixels evaluated per forward pass (bounds memory at hidden x CHUNK floats)
CHUNK = 1 << 16


class _Gauss(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.exp(-x * x)


class _Sin(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


def _activation(kind: str, layer: int) -> nn.Module:
    if kind == "mix":
        kind = ("sin", "tanh", "gauss")[layer % 3]
    return {"tanh": nn.Tanh(), "sin": _Sin(), "gauss": _Gauss()}[kind]


class CPPNNet(nn.Module):
    """(x, y, r, z) per pixel -> channels in [-1, 1]."""

    def __init__(self, cfg: CPPNConfig):
        super().__init__()
        # the weights are the picture: drawn from net_seed alone, never from torch's global RNG
        g = torch.Generator().manual_seed(cfg.net_seed)
        layers: list[nn.Module] = []
        width = 3 + cfg.z_dim
        for i in range(cfg.layers):
            layers += [nn.Linear(width, cfg.hidden), _activation(cfg.activation, i)]
            width = cfg.hidden
        layers += [nn.Linear(width, cfg.channels), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        for m in self.body:
            if isinstance(m, nn.Linear):
                # unit-variance weights, not PyTorch's small default: CPPNs need large
                # pre-activations to fold the plane into interesting shapes
                nn.init.normal_(m.weight, 0.0, 2.0 / math.sqrt(m.in_features), generator=g)
                nn.init.normal_(m.bias, 0.0, 0.5, generator=g)

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """(P, 3) hue, saturation, value in [0, 1] -> (P, 3) RGB in [0, 1]."""
    h, s, v = hsv[:, :1], hsv[:, 1:2], hsv[:, 2:]
    k = (torch.tensor([5.0, 3.0, 1.0], device=hsv.device) + h * 6) % 6
    return v - v * s * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def paint(out: Tensor, colour: str) -> Tensor:
    """Network outputs (P, C) in [-1, 1] -> pixels (P, C) in [-1, 1] for the colour mode."""
    if colour != "hsv":
        return out
    unit = (out + 1) / 2
    # full hue circle; saturation and value kept off zero so the hues show
    hsv = torch.cat([unit[:, :1], 0.35 + 0.65 * unit[:, 1:2], 0.3 + 0.7 * unit[:, 2:]], dim=1)
    return hsv_to_rgb(hsv) * 2 - 1


class CPPN(LatentModel):
    network_names = ("net",)
    ema_pairs: ClassVar[dict[str, str]] = {}

    def __init__(self, config: CPPNConfig, *, registry_name: str = "cppn"):
        super().__init__(config, registry_name=registry_name)
        self.net = CPPNNet(config)
        self.net.requires_grad_(False)

    # -- sampling: LatentModel draws the latents (sample, latents_for_seeds); this paints them
    def coordinates(self, width: int, height: int) -> Tensor:
        """(H*W, 3) of x, y, r; the shorter side spans [-scale, scale]."""
        s = self.config.scale / min(width, height)
        xs = (torch.arange(width, dtype=torch.float32) - (width - 1) / 2) * 2 * s
        ys = (torch.arange(height, dtype=torch.float32) - (height - 1) / 2) * 2 * s
        y, x = torch.meshgrid(ys, xs, indexing="ij")
        r = torch.sqrt(x * x + y * y)
        return torch.stack([x, y, r], dim=-1).reshape(-1, 3)

    @torch.no_grad()
    def generate(self, z: Tensor, *, width: int | None = None, height: int | None = None) -> Tensor:
        """Latents (N, z_dim) -> images (N, C, H, W) in [-1, 1], float32."""
        cfg = self.config
        w, h = width or cfg.width, height or cfg.height
        coords = self.coordinates(w, h).to(self.device)
        out = torch.empty(len(z), cfg.channels, h * w, device=self.device)
        for i, latent in enumerate(z.to(self.device, torch.float32)):
            zz = (latent * cfg.z_scale).expand(min(CHUNK, len(coords)), -1)
            for start in range(0, len(coords), CHUNK):
                part = coords[start : start + CHUNK]
                x = torch.cat([part, zz[: len(part)]], dim=1)
                out[i, :, start : start + len(part)] = paint(self.net(x).float(), cfg.colour).T
        return out.reshape(len(z), cfg.channels, h, w)

    # -- no training ----------------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        raise UsageError(
            "cppn needs no training: sample it directly, e.g. artkit sample cppn:width=512 -n 8"
        )


def build_cppn(**options: Any) -> CPPN:
    return CPPN(CPPNConfig(**options))
