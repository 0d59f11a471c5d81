"""MusicVAE-style networks (Roberts et al. 2018) for piano rolls, sized for CPU training.

Rolls are ``(N, tracks, T, P)`` in [-1, 1] with ``T = bars * steps_per_bar``.

Encoder ``E``: a strided conv reads each beat (4 steps, every track and pitch)
into one vector, a second conv looks at neighbouring beats, and a dense layer
over the whole phrase gives the posterior's mean and log-variance.

Decoder ``G`` (hierarchical, like MusicVAE's): ``z`` sets the initial state of a
conductor GRU that emits one embedding per bar; each bar is then decoded on its
own from its embedding (so everything about where the notes go passes through
``z`` and the conductor) by a two-layer bottom decoder that gives Bernoulli
logits for every track, step and pitch of the bar. (MusicVAE's bottom decoder
is an autoregressive GRU; a dense one learns in far fewer steps on a CPU and
decodes in one deterministic pass, so a seed's roll never depends on the batch.)
"""

from __future__ import annotations

import torch
from torch import nn

from .model_configs import MusicVAEConfig


def _ch(base: int, width: float) -> int:
    return max(8, round(base * width))


class MusicVAEEncoder(nn.Module):
    """Rolls ``(N, K, T, P)`` -> ``(mean, logvar)``, each ``(N, z_dim)``."""

    def __init__(self, cfg: MusicVAEConfig):
        super().__init__()
        self.cfg = cfg
        h = _ch(128, cfg.width)
        beats = cfg.time_steps // 4
        self.frames = nn.Sequential(
            nn.Conv1d(cfg.tracks * cfg.pitches, h, 4, stride=4),  # one vector per beat
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 3, padding=1),  # neighbouring beats
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(
            nn.Linear(h * beats, 2 * h), nn.LeakyReLU(0.2), nn.Linear(2 * h, 2 * cfg.z_dim)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, k, t, p = x.shape
        seq = x.permute(0, 1, 3, 2).reshape(n, k * p, t)  # channels = every track's pitches
        mean, logvar = self.head(self.frames(seq).flatten(1)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)


class MusicVAEDecoder(nn.Module):
    """Latents ``(N, z_dim)`` -> rolls ``(N, K, T, P)``: in [-1, 1], or Bernoulli logits."""

    def __init__(self, cfg: MusicVAEConfig):
        super().__init__()
        self.cfg = cfg
        h = _ch(128, cfg.width)
        hb = _ch(256, cfg.width)
        self.h = h
        self.init = nn.Sequential(nn.Linear(cfg.z_dim, h), nn.Tanh())
        self.conductor = nn.GRU(cfg.z_dim, h, batch_first=True)
        self.bar = nn.Sequential(
            nn.Linear(h + cfg.z_dim, hb),
            nn.LeakyReLU(0.2),
            nn.Linear(hb, cfg.tracks * cfg.steps_per_bar * cfg.pitches),
        )
        # start every note's logit at "mostly silent": a roll is ~2-10 % notes
        nn.init.constant_(self.bar[-1].bias, -3.0)

    def forward(self, z: torch.Tensor, *, logits: bool = False) -> torch.Tensor:
        cfg = self.cfg
        n, b = z.shape[0], cfg.bars
        zs = z.unsqueeze(1).expand(n, b, cfg.z_dim)
        # conductor: one embedding per bar, z fed at every bar
        bars, _ = self.conductor(zs, self.init(z).unsqueeze(0).contiguous())
        y = self.bar(torch.cat([bars, zs], dim=2))  # (N, B, K*S*P)
        k, s, p = cfg.tracks, cfg.steps_per_bar, cfg.pitches
        y = y.reshape(n, b, k, s, p).permute(0, 2, 1, 3, 4).reshape(n, k, b * s, p)
        return y if logits else torch.sigmoid(y.float()) * 2 - 1
