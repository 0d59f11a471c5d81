"""A tiny model family registered inline by tests that need a real model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

import artkit
from artkit.model import ArtModel


@dataclass
class ToyConfig:
    z_dim: int = 8
    resolution: int = 8
    channels: int = 3


class ToyModel(ArtModel):
    network_names = ("G", "D")

    def __init__(self, **options):
        super().__init__(ToyConfig(**options), registry_name="toy")
        c = self.config
        self.G = nn.Sequential(
            nn.Linear(c.z_dim, 32), nn.BatchNorm1d(32), nn.Linear(32, c.channels * c.resolution**2)
        )
        self.D = nn.Sequential(
            nn.Conv2d(c.channels, 4, 3), nn.Flatten(), nn.Linear(4 * (c.resolution - 2) ** 2, 1)
        )

    def sample(self, n, generator=None):
        z = torch.randn(n, self.config.z_dim, generator=generator)
        c = self.config
        return torch.tanh(self.G(z)).view(n, c.channels, c.resolution, c.resolution)


@artkit.hookimpl
def register_models(register):
    register("toy", ToyModel, description="A tiny test model.", params=ToyConfig)
