"""Objective measures of piano rolls: MuseGAN's (Dong et al. 2018) and a few more.

Every measure takes bool rolls ``(tracks, T, P)`` (row ``p`` is MIDI pitch ``low + p``,
``steps_per_bar`` time steps a bar, 16 by default) and summarises a *set* of them,
so a model's samples can be put beside the data they learnt from
(:func:`compare`, :func:`markdown`) and beside a baseline that keeps each track's
note count and durations but none of its music (:func:`shuffled_notes`).

A note is a run of consecutive sounding steps at one pitch in one track (what a
binary roll means; it is also how the ``midi`` medium writes it). Bars are whole
bars from step 0; a trailing part-bar is left out of the per-bar measures, and a
roll shorter than one bar counts as one bar. Set values are pooled (a ratio's
numerators and denominators are summed over the whole set, not averaged per
roll), and a measure with nothing to measure (no notes, no drum track) is NaN.

The measures (``measures()`` keys; per-track values ``EB[0]`` ... with
``per_track=True``, track pairs ``TD[0,1]``):

- ``EB`` empty-bar rate: bars of a track with no sounding step / all bars (all tracks).
- ``UPC`` used pitch classes per bar: distinct pitch classes sounding in a bar,
  mean over the non-empty bars of the non-drum tracks.
- ``QN`` qualified-note ratio: notes at least ``qn_steps`` steps long / all notes.
  MuseGAN's threshold is 3 of its 96 steps a bar (a 32nd note); on a 16-step grid
  every note is at least a 16th, so that would always be 1. The default here is
  ``max(2, round(3 * steps_per_bar / 96))``: 2 steps (an eighth) at 16 steps a
  bar, MuseGAN's own 3 at 96. It measures fragmentation (chopped-up held notes).
- ``PP`` polyphonicity: steps with at least 2 pitches sounding / steps with at
  least 1, per non-drum track, pooled. (MusPy's ``polyphony_rate`` divides by all
  steps and counts more than 2 pitches over all tracks together.)
- ``TD`` tonal distance: per bar, the Euclidean distance between the two tracks'
  tonal centroids (Harte, Sandler and Gasser 2006: the duration-weighted chroma
  mapped onto the circles of fifths, minor thirds and major thirds, radii 1, 1,
  0.5), mean over the bars where both tracks sound, over all non-drum track pairs.
- ``DP`` drum pattern: drum onsets on the beat grid / all drum onsets. MuseGAN
  (and MusPy) count onsets on the 16th-note grid with tolerance; at 16 steps a bar
  every onset is on it, so here the grid is the 8th note (every other step) at 16
  steps a bar, the 16th note when a bar has 32 steps or more (onsets one step off
  it count ``tolerance``, MuseGAN's 0.1, when the grid is 3 steps or wider). Only
  with ``drums`` flags; NaN without a drum track.
- ``PCE`` pitch-class entropy (bits, 0..log2 12): of the onsets' pitch-class
  histogram of each roll's non-drum tracks, mean over the rolls with notes.
- ``SC`` scale consistency: the largest share of a roll's onsets inside one
  major scale (the natural minors are the same 12 pitch-class sets), mean over rolls.
- ``NPB`` notes per bar: onsets per bar per non-drum track, empty bars included.

Numpy only (imported inside the functions), no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: the order of the table rows, with a one-line meaning each
MEASURES: dict[str, str] = {
    "EB": "empty-bar rate",
    "UPC": "used pitch classes per bar",
    "QN": "qualified-note ratio",
    "PP": "polyphonicity",
    "TD": "tonal distance between tracks",
    "DP": "drum-pattern ratio",
    "PCE": "pitch-class entropy, bits",
    "SC": "scale consistency",
    "NPB": "notes per bar per track",
}

_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def _check_roll(roll: Any) -> Any:
    import numpy as np

    roll = np.asarray(roll)
    if roll.ndim == 2:
        roll = roll[None]
    if roll.ndim != 3:
        raise ValueError(f"a piano roll is (tracks, time, pitches), got shape {roll.shape}")
    return roll if roll.dtype == bool else roll > 0


def notes(track: Any) -> tuple[Any, Any, Any]:
    """``(pitches, onsets, durations)`` of one track's roll ``(T, P)``, sorted by pitch then onset."""
    import numpy as np

    t = np.asarray(track, bool).T  # (P, T): nonzero() walks pitch by pitch, in time order
    padded = np.zeros((t.shape[0], t.shape[1] + 2), bool)
    padded[:, 1:-1] = t
    edge = np.diff(padded.astype(np.int8), axis=1)
    pitches, onsets = np.nonzero(edge == 1)
    _, ends = np.nonzero(edge == -1)
    return pitches, onsets, ends - onsets


def onsets_of(track: Any) -> Any:
    """Bool ``(T, P)``: where a note starts."""
    import numpy as np

    track = np.asarray(track, bool)
    out = track.copy()
    out[1:] &= ~track[:-1]
    return out


def _bars(track: Any, steps_per_bar: int) -> Any:
    """``(bars, steps_per_bar, P)`` whole bars of a ``(T, P)`` track (one part-bar if T is shorter)."""
    n = track.shape[0] // steps_per_bar
    if n == 0:
        return track[None]
    return track[: n * steps_per_bar].reshape(n, steps_per_bar, track.shape[1])


def _chroma(bars: Any, low: int) -> Any:
    """``(bars, 12)`` sounding steps per pitch class (duration-weighted chroma)."""
    import numpy as np

    per_pitch = bars.sum(1)  # (bars, P)
    chroma = np.zeros((bars.shape[0], 12))
    classes = (np.arange(bars.shape[2]) + low) % 12
    np.add.at(chroma.T, classes, per_pitch.T)
    return chroma


def tonal_centroids(chroma: Any) -> Any:
    """Harte et al. (2006) 6-D tonal centroids of ``(n, 12)`` chroma rows (zero rows -> zeros)."""
    import numpy as np

    chroma = np.asarray(chroma, float)
    angle = np.arange(12)
    phi = np.stack(
        [
            np.sin(angle * 7 * np.pi / 6),
            np.cos(angle * 7 * np.pi / 6),
            np.sin(angle * 3 * np.pi / 2),
            np.cos(angle * 3 * np.pi / 2),
            0.5 * np.sin(angle * 2 * np.pi / 3),
            0.5 * np.cos(angle * 2 * np.pi / 3),
        ]
    )
    total = chroma.sum(-1, keepdims=True)
    return (chroma @ phi.T) / np.where(total > 0, total, 1.0)


def _entropy(counts: Any) -> float:
    import numpy as np

    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _drum_mask(steps_per_bar: int, tolerance: float) -> Any:
    import numpy as np

    grid = steps_per_bar // 16 if steps_per_bar >= 32 else max(1, steps_per_bar // 8)
    mask = np.zeros(steps_per_bar)
    if grid >= 3:
        mask[1::grid] = tolerance
        mask[grid - 1 :: grid] = tolerance
    mask[::grid] = 1.0
    return mask


class _Tally:
    """Pooled numerators and denominators over a set of rolls."""

    def __init__(self) -> None:
        self.num: dict[str, float] = {}
        self.den: dict[str, float] = {}

    def add(self, key: str, num: float, den: float) -> None:
        self.num[key] = self.num.get(key, 0.0) + float(num)
        self.den[key] = self.den.get(key, 0.0) + float(den)

    def value(self, key: str) -> float:
        den = self.den.get(key, 0.0)
        return self.num[key] / den if den > 0 else math.nan


def measures(
    rolls: Iterable[Any],
    *,
    low: int,
    steps_per_bar: int = 16,
    drums: Sequence[bool] | None = None,
    qn_steps: int | None = None,
    tolerance: float = 0.1,
    per_track: bool = False,
) -> dict[str, float]:
    """The measures of a set of rolls (see the module's docstring), one float each.

    ``rolls``: bool (or > 0) arrays ``(tracks, T, P)``, all with the same tracks;
    ``drums``: which tracks are drum tracks (default none). With ``per_track`` also
    ``EB[i]``, ``UPC[i]``, ``QN[i]``, ``PP[i]``, ``NPB[i]`` per track and ``TD[i,j]``
    per pair.
    """
    import numpy as np

    if steps_per_bar < 1:
        raise ValueError(f"steps_per_bar={steps_per_bar} must be at least 1")
    qn_min = qn_steps if qn_steps is not None else max(2, round(3 * steps_per_bar / 96))
    tally = _Tally()
    pce: list[float] = []
    sc: list[float] = []
    scales = np.zeros((12, 12), bool)
    for root in range(12):
        scales[root, [(root + s) % 12 for s in _MAJOR]] = True
    drum_mask = _drum_mask(steps_per_bar, tolerance)
    tracks = None
    for raw in rolls:
        roll = _check_roll(raw)
        if tracks is None:
            tracks = roll.shape[0]
            flags = tuple(bool(d) for d in drums) if drums is not None else (False,) * tracks
            if len(flags) != tracks:
                raise ValueError(f"drums has {len(flags)} flags for {tracks} tracks")
            melodic = [i for i in range(tracks) if not flags[i]]
        elif roll.shape[0] != tracks:
            raise ValueError(f"rolls have {tracks} and {roll.shape[0]} tracks: one set, one layout")
        classes = (np.arange(roll.shape[2]) + low) % 12
        piece_pc = np.zeros(12)
        chroma: dict[int, Any] = {}
        for i in range(tracks):
            track = roll[i]
            bars = _bars(track, steps_per_bar)
            sounding = bars.any(2)  # (bars, steps)
            empty = ~sounding.any(1)
            tally.add("EB", empty.sum(), len(empty))
            tally.add(f"EB[{i}]", empty.sum(), len(empty))
            starts = onsets_of(track)
            if flags[i]:
                hits = starts.sum(1)  # onsets per step
                whole = (len(hits) // steps_per_bar) * steps_per_bar or len(hits)
                weights = np.resize(drum_mask, whole)
                tally.add("DP", (hits[:whole] * weights).sum(), hits[:whole].sum())
                continue
            pcs = np.zeros((bars.shape[0], 12), bool)
            per_class = bars.any(1)  # (bars, P)
            for c in range(12):
                pcs[:, c] = per_class[:, classes == c].any(1)
            upc = pcs.sum(1)[~empty]
            for key in ("UPC", f"UPC[{i}]"):
                tally.add(key, upc.sum(), len(upc))
            _, _, durations = notes(track)
            for key in ("QN", f"QN[{i}]"):
                tally.add(key, (durations >= qn_min).sum(), len(durations))
            count = track.sum(1)
            for key in ("PP", f"PP[{i}]"):
                tally.add(key, (count >= 2).sum(), (count >= 1).sum())
            bar_onsets = _bars(starts, steps_per_bar).sum((1, 2))
            for key in ("NPB", f"NPB[{i}]"):
                tally.add(key, bar_onsets.sum(), len(bar_onsets))
            np.add.at(piece_pc, classes, starts.sum(0))
            chroma[i] = _chroma(bars, low)
        for a_i, a in enumerate(melodic):
            for b in melodic[a_i + 1 :]:
                both = (chroma[a].sum(1) > 0) & (chroma[b].sum(1) > 0)
                dist = np.linalg.norm(
                    tonal_centroids(chroma[a][both]) - tonal_centroids(chroma[b][both]), axis=1
                )
                for key in ("TD", f"TD[{a},{b}]"):
                    tally.add(key, dist.sum(), len(dist))
        if piece_pc.sum() > 0:
            pce.append(_entropy(piece_pc))
            sc.append(float((scales @ piece_pc).max() / piece_pc.sum()))
    if tracks is None:
        raise ValueError("measures of an empty set of rolls")
    out = {key: tally.value(key) for key in ("EB", "UPC", "QN", "PP", "TD", "DP", "NPB")}
    out["PCE"] = float(np.mean(pce)) if pce else math.nan
    out["SC"] = float(np.mean(sc)) if sc else math.nan
    out = {key: out[key] for key in MEASURES}
    if per_track:
        extra = sorted(k for k in tally.num if "[" in k)
        out.update({key: tally.value(key) for key in extra})
    return out


def shuffled_notes(rolls: Iterable[Any], seed: int = 0) -> list[Any]:
    """The shuffled-notes baseline: every note moved to a random pitch and onset.

    Each track keeps its note count and its notes' durations (so EB, QN and NPB
    stay close to the input's) but loses its pitches and rhythm. A note is placed
    where it neither overlaps nor touches another note of its pitch (touching
    would merge the two into one); after 100 tries it goes anywhere (a roll too
    full to shuffle, which never happens at piano-roll densities).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for raw in rolls:
        roll = _check_roll(raw)
        tracks, steps, pitch_rows = roll.shape
        new = np.zeros_like(roll, dtype=bool)
        for i in range(tracks):
            _, _, durations = notes(roll[i])
            for d in rng.permutation(durations):
                d = int(min(d, steps))
                for _ in range(100):
                    p = int(rng.integers(pitch_rows))
                    t = int(rng.integers(steps - d + 1))
                    if not new[i, max(t - 1, 0) : t + d + 1, p].any():
                        break
                new[i, t : t + d, p] = True
        out.append(new)
    return out


def compare(
    fake: Mapping[str, float],
    real: Mapping[str, float],
    baseline: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Rows for the table: each measure's real, fake (and baseline) values and distances.

    ``fake``, ``real`` and ``baseline`` are :func:`measures` results. Each row has
    ``measure``, ``real``, ``fake``, ``fake_diff`` = ``|fake - real|`` and, with a
    baseline, ``baseline``, ``baseline_diff`` and ``closer`` (``"fake"``,
    ``"baseline"``, ``"tie"`` or ``""`` when a value is NaN). Measures NaN on
    both real and fake sides (no drums) are left out.
    """
    rows = []
    for key in [*MEASURES, *(k for k in real if k not in MEASURES)]:
        r, f = float(real.get(key, math.nan)), float(fake.get(key, math.nan))
        if math.isnan(r) and math.isnan(f):
            continue
        row: dict[str, Any] = {"measure": key, "real": r, "fake": f, "fake_diff": abs(f - r)}
        if baseline is not None:
            b = float(baseline.get(key, math.nan))
            row.update(baseline=b, baseline_diff=abs(b - r))
            if math.isnan(row["fake_diff"]) or math.isnan(row["baseline_diff"]):
                row["closer"] = ""
            elif math.isclose(row["fake_diff"], row["baseline_diff"], abs_tol=1e-12):
                row["closer"] = "tie"
            else:
                row["closer"] = "fake" if row["fake_diff"] < row["baseline_diff"] else "baseline"
        rows.append(row)
    return rows


def markdown(
    rows: Sequence[Mapping[str, Any]], fake: str = "model", baseline: str = "shuffled"
) -> str:
    """A markdown table of :func:`compare` rows (``fake`` and ``baseline`` name the columns)."""

    def num(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x:.3f}"

    has_base = any("baseline" in r for r in rows)
    head = ["measure", "data", fake, f"|{fake} - data|"]
    if has_base:
        head += [baseline, f"|{baseline} - data|", "closer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        name = r["measure"]
        label = f"{name} ({MEASURES[name]})" if name in MEASURES else name
        cells = [label, num(r["real"]), num(r["fake"]), num(r["fake_diff"])]
        if has_base:
            closer = {"fake": fake, "baseline": baseline}.get(r["closer"], r["closer"])
            cells += [num(r["baseline"]), num(r["baseline_diff"]), closer]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
