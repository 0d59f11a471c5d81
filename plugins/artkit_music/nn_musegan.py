"""MuseGAN's networks (Dong et al. 2018, the "hybrid" model), sized for CPU training.

Rolls are ``(N, tracks, T, P)`` in [-1, 1] with ``T = bars * steps_per_bar`` and
``P = pitches`` (whole octaves). Every per-track network is one grouped
convolution stack (``groups=tracks``): each track has its own weights, and all
tracks run in one call.

Generator: the latent ``(N, z_dim * (2 + 2 * tracks))`` is four parts --
shared (whole phrase, all tracks), private (one per track), temporal shared and
temporal private -- the two temporal ones unrolled by small temporal generators
into one vector per bar. Each track's bar generator turns its four vectors for
a bar into that bar: a dense layer to (beats x octaves), a 3x3 conv there, a
transposed conv from beats to slots of ``note_steps`` steps and one from octaves
to the 12 pitches of each. ``voices="poly"``: tanh, any notes at once;
``voices="mono"``: one more "rest" logit per track and slot and a straight-through
one-hot (:func:`one_note`), so each track sings a line. Each slot is held for
``note_steps`` steps.

Discriminator (spectral norm throughout): a per-track stem reads each octave's
12 pitches and each beat's steps, a joint stack mixes the tracks over beats and
octaves and then each bar; a chroma stream (pitch classes per beat, all octaves
folded) joins before the logit. With ``pack > 1`` it reads that many phrases at
once as one (PacGAN, Lin et al. 2018), which lets it see a batch of look-alikes.
"""

from __future__ import annotations

import torch
from torch import nn

from artkit.nn.init import dcgan_init
from artkit.nn.spectral import spectral_norm_all

from .model_configs import MuseGANConfig


def _ch(base: int, width: float) -> int:
    return max(4, round(base * width))


def latent_size(cfg: MuseGANConfig) -> int:
    """The whole latent: shared + private per track + temporal shared + temporal private per track."""
    return cfg.z_dim * (2 + 2 * cfg.tracks)


class TemporalGenerator(nn.Module):
    """``groups`` independent MLPs, each ``(z_dim) -> (bars, z_dim)``: one vector per bar."""

    def __init__(self, z_dim: int, bars: int, groups: int, hidden: int):
        super().__init__()
        self.z_dim, self.bars, self.groups = z_dim, bars, groups
        self.net = nn.Sequential(
            nn.Conv1d(groups * z_dim, groups * hidden, 1, groups=groups),
            nn.BatchNorm1d(groups * hidden),
            nn.ReLU(),
            nn.Conv1d(groups * hidden, groups * bars * z_dim, 1, groups=groups),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, groups, z_dim)`` -> ``(N, groups, bars, z_dim)``."""
        n = z.shape[0]
        out = self.net(z.reshape(n, self.groups * self.z_dim, 1))
        return out.reshape(n, self.groups, self.bars, self.z_dim)


class MuseGANGenerator(nn.Module):
    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        self.cfg = cfg
        k, d = cfg.tracks, cfg.z_dim
        self.beats, self.octaves = cfg.steps_per_bar // 4, cfg.pitches // 12
        c1, c2 = _ch(32, cfg.width), _ch(32, cfg.width)
        slots = 4 // cfg.note_steps  # per beat: G decides a note per slot and holds it
        self.c1 = c1
        hidden = _ch(64, cfg.width)
        self.temporal_shared = TemporalGenerator(d, cfg.bars, 1, hidden)
        self.temporal_private = TemporalGenerator(d, cfg.bars, k, hidden)
        seed = c1 * self.beats * self.octaves
        self.dense = nn.Sequential(
            nn.Conv2d(k * 4 * d, k * seed, 1, groups=k), nn.BatchNorm2d(k * seed), nn.ReLU()
        )
        self.body = nn.Sequential(
            # beats x octaves: the bar's harmony and rhythm at the coarse scale
            nn.Conv2d(k * c1, k * c1, 3, padding=1, groups=k),
            nn.BatchNorm2d(k * c1),
            nn.ReLU(),
            # beats -> steps (-> slots of note_steps steps each)
            nn.ConvTranspose2d(k * c1, k * c2, (slots, 1), stride=(slots, 1), groups=k),
            nn.BatchNorm2d(k * c2),
            nn.ReLU(),
        )
        # octaves -> the 12 pitches of each: one note pattern per feature
        self.pitch = nn.ConvTranspose2d(k * c2, k, (1, 12), stride=(1, 12), groups=k)
        # mono: one more logit per track and step, "rest", from the step's features
        self.rest = nn.Conv1d(k * c2, k, 1, groups=k) if cfg.voices == "mono" else None
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        n, k, d, b = z.shape[0], cfg.tracks, cfg.z_dim, cfg.bars
        shared, private, t_shared, t_private = torch.split(z, [d, k * d, d, k * d], dim=1)
        t_shared = self.temporal_shared(t_shared.reshape(n, 1, d))  # (N, 1, B, d)
        t_private = self.temporal_private(t_private.reshape(n, k, d))  # (N, K, B, d)
        parts = (
            shared.reshape(n, 1, 1, d).expand(n, k, b, d),
            private.reshape(n, k, 1, d).expand(n, k, b, d),
            t_shared.expand(n, k, b, d),
            t_private,
        )
        h = torch.cat(parts, dim=3)  # (N, K, B, 4d)
        h = h.permute(0, 2, 1, 3).reshape(n * b, k * 4 * d, 1, 1)
        h = self.dense(h).reshape(n * b, k * self.c1, self.beats, self.octaves)
        h = self.body(h)  # (N*B, K*c2, S, octaves)
        logits = self.pitch(h)  # (N*B, K, S, P)
        if self.rest is None:
            bars = torch.tanh(logits)
        else:
            rest = self.rest(h.mean(dim=3)).unsqueeze(3)  # (N*B, K, S, 1)
            bars = one_note(torch.cat([logits, rest], dim=3))[..., :-1] * 2 - 1
        if cfg.note_steps > 1:
            bars = bars.repeat_interleave(cfg.note_steps, dim=2)
        s, p = cfg.steps_per_bar, cfg.pitches
        return bars.reshape(n, b, k, s, p).permute(0, 2, 1, 3, 4).reshape(n, k, b * s, p)


def one_note(logits: torch.Tensor) -> torch.Tensor:
    """One-hot of the largest logit on the last axis forward, softmax's gradient backward.

    The straight-through estimator (Bengio et al. 2013): each track plays exactly one
    of its pitches or rests at each step, as a chorale voice does, and G still gets
    a gradient for every logit.
    """
    soft = torch.softmax(logits.float(), dim=-1)
    hard = nn.functional.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return (soft + (hard - soft).detach()).to(logits.dtype)


class MuseGANDiscriminator(nn.Module):
    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        self.cfg = cfg
        # PacGAN: D reads ``pack`` phrases at once as pack * tracks channels
        k, w = cfg.tracks * cfg.pack, cfg.width
        e1, e2 = _ch(16, w), _ch(32, w)
        f1, f2, f3 = _ch(48, w), _ch(48, w), _ch(96, w)
        g1 = _ch(32, w)
        beats = cfg.steps_per_bar // 4
        act = nn.LeakyReLU(0.2)
        self.private = nn.Sequential(
            nn.Conv2d(k, k * e1, (1, 12), stride=(1, 12), groups=k),  # octave -> features
            act,
            nn.Conv2d(k * e1, k * e2, (4, 1), stride=(4, 1), groups=k),  # steps -> beats
            act,
        )
        self.joint = nn.Sequential(
            nn.Conv2d(k * e2, f1, 1),
            act,
            nn.Conv2d(f1, f2, 3, padding=1),
            act,
            nn.Conv2d(f2, f3, (beats, 1), stride=(beats, 1)),  # beats -> bars
            act,
        )
        self.chroma = nn.Sequential(
            nn.Conv2d(k, g1, (1, 12)),  # (beats in phrase, 1)
            act,
            nn.Conv2d(g1, g1, (beats, 1), stride=(beats, 1)),  # -> bars
            act,
        )
        # + 1: the minibatch standard deviation (see minibatch_std)
        self.logit = nn.Linear(f3 * cfg.bars * (cfg.pitches // 12) + g1 * cfg.bars + 1, 1)
        dcgan_init(self)
        spectral_norm_all(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, tracks, T, P)`` -> one logit per ``pack`` consecutive phrases, ``(N / pack,)``."""
        cfg = self.cfg
        k = cfg.tracks * cfg.pack
        t, o = cfg.bars * cfg.steps_per_bar, cfg.pitches // 12
        x = x.reshape(x.shape[0] // cfg.pack, k, t, cfg.pitches)
        n = x.shape[0]
        main = self.joint(self.private(x)).flatten(1)
        # chroma: how much of each pitch class sounds in each beat, octaves folded
        on = (x.float() + 1) * 0.5
        chroma = on.reshape(n, k, t // 4, 4, o, 12).mean(dim=(3, 4)).to(x.dtype)
        side = self.chroma(chroma).flatten(1)
        feats = torch.cat([main, side], dim=1)
        return self.logit(torch.cat([feats, minibatch_std(feats)], dim=1)).reshape(n)


def minibatch_std(feats: torch.Tensor) -> torch.Tensor:
    """How much a few neighbouring phrases differ, as one more feature (StyleGAN's layer).

    A 10-minute run without it collapsed: every sample the same phrase. With it, D can
    tell a batch of look-alikes from real music. Groups are contiguous and divide the
    batch so that, when real and fake come in one call (``[real; fake]``, each half a
    multiple of the group), no group mixes the two: 4 when the batch is a multiple of
    8, 2 when of 4, else 1 (a zero feature).
    """
    n = feats.shape[0]
    group = 4 if n % 8 == 0 else 2 if n % 4 == 0 else 1
    f = feats.float().reshape(n // group, group, -1)
    std = (f.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1, keepdim=True)
    return std.repeat_interleave(group, dim=0).to(feats.dtype)
