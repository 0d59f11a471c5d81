"""``pianoroll``: features of piano rolls for Fréchet distances between sets of music.

``artkit eval --features pianoroll`` (and :mod:`benchmarks.music_quality`) compare
generated rolls with the data through these features. Like ``random-conv`` they
need no weights: fixed-seed random convolutions, here over (time, pitch) one track
at a time, plus plain note statistics, so a number means the same on every machine
and in every version that keeps the seed. They are not a perceptual measure of
music; they see texture (note lengths, chord shapes, rhythmic density at several
scales), register and pitch-class content. Pair them with
:func:`artkit_music.metrics.measures`, whose numbers each mean one thing.

Input: ``(N, tracks, T, P)`` in [-1, 1], any number of tracks, steps and pitch rows
(an image's channels are its tracks). A cell is a sounding note where it is > 0,
the same rule the ``midi`` medium writes files with, so features describe the
music that would be written, not the model's confidence. Features per track:

- four random conv layers (leaky ReLU), the first one beat by 13 rows with a
  stride of one beat in time (a beat is ``steps_per_bar / 4`` steps, 4 by default;
  13 rows are an octave and a semitone, semitone-exact: intervals and chord
  shapes beat by beat; a roll is padded with silence to whole beats), then three
  ``3 x 3`` of stride 2; each layer's channel means and standard deviations over
  (time, pitch), so any size works;
- note statistics: sounding-cell density, sounding-step rate, polyphony (steps
  with 2+ pitches among sounding ones), onsets per step, empty-bar rate (``steps_per_bar``
  bars), mean and spread of the pitch (as a fraction of the rows) and the
  pitch-class histogram (row index mod 12: the same for any ``low``).

Each group is scaled by ``SCALE / sqrt(its size)`` so that every group weighs
about the same in a distance. Features of the tracks are concatenated in order
(soprano stays soprano): both sets must have the same track layout.
"""

from __future__ import annotations

from typing import Any

# only ever imported through the extractor registry, when features are asked for
import torch  # noqa: TID253
import torch.nn.functional as F  # noqa: TID253
from torch import Tensor, nn  # noqa: TID253

from artkit.errors import UsageError
from artkit.eval.embedder import Embedder

#: overall scale of the features (as random-conv's): distances in a readable range
SCALE = 10.0


class PianoRollFeatures(Embedder):
    """``pianoroll[:seed=S,width=W,steps_per_bar=B]``: the piano-roll embedder (see the module)."""

    name = "pianoroll"
    input_size = (64, 48)  # 4 bars of 16 steps x 48 pitches; any size is used as it is
    native_input = True

    def __init__(
        self,
        seed: int | str = 0,
        width: int | str = 8,
        steps_per_bar: int | str = 16,
        device: Any = "cpu",
        **_: Any,
    ) -> None:
        super().__init__()
        try:  # spec options (``pianoroll:width=16``) come as strings
            seed, width, steps_per_bar = int(seed), int(width), int(steps_per_bar)
        except ValueError:
            raise UsageError(
                f"pianoroll: seed, width and steps_per_bar are whole numbers, got {seed!r}, {width!r}, {steps_per_bar!r}"
            ) from None
        if width < 1:
            raise UsageError(f"pianoroll: width={width} must be at least 1")
        if steps_per_bar < 1:
            raise UsageError(f"pianoroll: steps_per_bar={steps_per_bar} must be at least 1")
        self.steps_per_bar = steps_per_bar
        g = torch.Generator().manual_seed(seed)
        chans = [1, width, width * 2, width * 4, width * 4]
        self.beat = beat = max(1, steps_per_bar // 4)  # 4/4: the first layer steps a beat
        shapes = [((beat, 13), (beat, 1), (0, 6)), (3, 2, 1), (3, 2, 1), (3, 2, 1)]
        with torch.random.fork_rng(devices=[]):  # default init would move the caller's RNG
            self.layers = nn.ModuleList(
                nn.Conv2d(a, b, k, stride=s, padding=p)
                for a, b, (k, s, p) in zip(chans[:-1], chans[1:], shapes, strict=True)
            )
        with torch.no_grad():
            for i, conv in enumerate(self.layers):
                w = torch.randn(conv.weight.shape, generator=g)
                if i == 0:  # half mean-free (shape), half not (amount)
                    half = conv.out_channels // 2
                    w[:half] -= w[:half].mean((1, 2, 3), keepdim=True)
                w /= w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                conv.weight.copy_(w * 2**0.5)
                conv.bias.zero_()
        parts = [f"seed={seed}"] if seed else []
        parts += [f"width={width}"] if width != 8 else []
        parts += [f"steps_per_bar={steps_per_bar}"] if steps_per_bar != 16 else []
        self.name = "pianoroll" + (":" + ",".join(parts) if parts else "")
        self.requires_grad_(False).eval().to(device)

    def prepare(self, images: Tensor) -> Tensor:
        """Rolls are used at their own size and track count: no resizing, no RGB."""
        if images.dim() != 4:
            raise UsageError(
                f"pianoroll features need (N, tracks, T, P) rolls, got {tuple(images.shape)}"
            )
        return images.float()

    def _conv_features(self, x: Tensor) -> Tensor:
        feats = []
        x = F.pad(x, (0, 0, 0, -x.shape[2] % self.beat))  # whole beats (silence after the end)
        for conv in self.layers:
            x = F.leaky_relu(conv(x), 0.2)
            weight = SCALE / conv.out_channels**0.5
            flat = x.flatten(2)
            std = flat.std(2) if flat.shape[2] > 1 else torch.zeros_like(flat[..., 0])
            feats += [flat.mean(2) * weight, std * weight]
        return torch.cat(feats, 1)

    def _note_statistics(self, on: Tensor) -> Tensor:
        """``on``: (M, T, P) in {0, 1} -> (M, groups) scaled statistics."""
        m, steps, rows = on.shape
        per_step = on.sum(2)  # (M, T)
        sounding = (per_step > 0).float()
        sounding_steps = sounding.sum(1)
        poly = ((per_step >= 2).float().sum(1) / sounding_steps.clamp(min=1)).unsqueeze(1)
        onsets = on.clone()
        onsets[:, 1:] = (on[:, 1:] - on[:, :-1]).clamp(min=0)
        bars = max(steps // self.steps_per_bar, 1)
        whole = (
            sounding[:, : bars * self.steps_per_bar] if steps >= self.steps_per_bar else sounding
        )
        empty = (whole.reshape(m, bars, -1).amax(2) == 0).float().mean(1, keepdim=True)
        per_row = on.sum(1)  # (M, P)
        total = per_row.sum(1, keepdim=True)
        pos = torch.linspace(0, 1, rows, device=on.device) if rows > 1 else on.new_zeros(1)
        mean = (per_row * pos).sum(1, keepdim=True) / total.clamp(min=1)
        spread = ((per_row * (pos - mean) ** 2).sum(1, keepdim=True) / total.clamp(min=1)).sqrt()
        pcs = on.new_zeros(m, 12)
        pcs.index_add_(1, torch.arange(rows, device=on.device) % 12, per_row)
        pcs = pcs / pcs.sum(1, keepdim=True).clamp(min=1)
        scalars = torch.cat(
            [
                on.mean((1, 2)).unsqueeze(1),
                sounding.mean(1, keepdim=True),
                poly,
                onsets.sum((1, 2)).unsqueeze(1) / steps,
                empty,
                mean,
                spread,
            ],
            1,
        )
        return torch.cat([scalars * (SCALE / 7**0.5), pcs * (SCALE / 12**0.5)], 1)

    def forward(self, x: Tensor) -> Tensor:
        n, tracks, steps, rows = x.shape
        on = (x > 0).float().reshape(n * tracks, steps, rows)
        feats = torch.cat([self._conv_features(on.unsqueeze(1)), self._note_statistics(on)], 1)
        return feats.reshape(n, -1)
