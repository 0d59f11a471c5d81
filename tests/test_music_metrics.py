"""artkit_music's evaluation: objective measures, the shuffled-notes baseline, ``pianoroll`` features.

The measures are checked on hand-made rolls whose answers are worked out by hand
(in the comments); the features on synthetic chorale-like rolls against noise and
the shuffled baseline; the benchmark end to end with ``--quick``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from artkit_music.metrics import (
    compare,
    markdown,
    measures,
    notes,
    shuffled_notes,
    tonal_centroids,
)

ROOT = Path(__file__).resolve().parent.parent
LOW = 36  # row 0 is C2, so row r has pitch class r % 12


def empty(tracks: int = 1, steps: int = 64, pitches: int = 48) -> np.ndarray:
    return np.zeros((tracks, steps, pitches), bool)


def chorale_like(n: int, seed: int, tracks: int = 4, bars: int = 4, pitches: int = 48):
    """Rolls of I-IV-V-vi chords in a random major key: a held bass, chord tones above."""
    rng = np.random.default_rng(seed)
    major = [0, 2, 4, 5, 7, 9, 11]
    out = []
    for _ in range(n):
        roll = empty(tracks, bars * 16, pitches)
        key = int(rng.integers(12))
        for bar in range(bars):
            degree = int(rng.choice([0, 3, 4, 5]))
            chord = {(key + major[(degree + k) % 7]) % 12 for k in (0, 2, 4)}
            for t in range(tracks):
                lo = t * (pitches - 12) // max(tracks - 1, 1)
                rows = [r for r in range(lo, lo + 12) if r % 12 in chord]
                length = 16 if t == 0 else int(rng.choice([4, 8]))
                for start in range(bar * 16, bar * 16 + 16, length):
                    roll[t, start : start + length, int(rng.choice(rows))] = True
        out.append(roll)
    return out


# -- the measures, on rolls with known answers -----------------------------------------


def test_empty_bars_pooled_over_tracks_and_whole_bars_only():
    r = empty(2, 72)  # 4 whole bars and half a bar
    r[0, 0:4, 10] = True  # bar 0
    r[0, 40, 10] = True  # bar 2
    r[1, 66, 3] = True  # only in the trailing half bar: not counted
    m = measures([r], low=LOW, per_track=True)
    assert m["EB[0]"] == 0.5 and m["EB[1]"] == 1.0 and m["EB"] == 0.75
    # a roll shorter than a bar is one bar
    short = empty(1, 8)
    short[0, 2, 0] = True
    assert measures([short], low=LOW)["EB"] == 0.0


def test_used_pitch_classes_per_non_empty_bar():
    r = empty(1, 48)
    r[0, 0:4, [0, 12, 4]] = True  # C2, C3, E2: 2 classes
    r[0, 16:18, [2, 3, 5, 7, 9]] = True  # D Eb F G A: 5 classes
    # bar 2 is empty and left out: (2 + 5) / 2
    assert measures([r], low=LOW)["UPC"] == 3.5
    # low shifts which rows are the same class: with low=37, rows 0 and 12 are still one class
    assert measures([r], low=37)["UPC"] == 3.5


def test_qualified_notes_thresholds():
    r = empty(1, 32)
    r[0, 0, 0] = True  # 1 step
    r[0, 2, 0] = True  # 1 step (a gap between: two notes)
    r[0, 4:6, 0] = True  # 2 steps
    r[0, 8:12, 5] = True  # 4 steps
    assert measures([r], low=LOW)["QN"] == 0.5  # >= 2 steps at 16 a bar
    assert measures([r], low=LOW, qn_steps=3)["QN"] == 0.25
    # MuseGAN's own grid: 96 steps a bar, >= 3 steps
    fine = empty(1, 96)
    for start, length in [(0, 1), (10, 2), (20, 3), (30, 6)]:
        fine[0, start : start + length, 0] = True
    assert measures([fine], low=LOW, steps_per_bar=96)["QN"] == 0.5


def test_held_notes_are_one_note():
    r = empty(1, 32)
    r[0, 0:16, 7] = True
    p, on, d = notes(r[0])
    assert list(p) == [7] and list(on) == [0] and list(d) == [16]
    m = measures([r], low=LOW)
    assert m["NPB"] == 0.5 and m["QN"] == 1.0  # one note over two bars


def test_polyphonicity_counts_sounding_steps_only():
    r = empty(1, 16)
    r[0, 0:4, 0] = True  # 4 steps of 1 pitch
    r[0, 4:8, [0, 4, 7]] = True  # 4 steps of 3 pitches; 8 silent steps not counted
    assert measures([r], low=LOW)["PP"] == 0.5


def test_tonal_distance_by_hand():
    # C alone: centroid (sin 0, cos 0, sin 0, cos 0, .5 sin 0, .5 cos 0) = (0, 1, 0, 1, 0, .5)
    c = np.zeros((1, 12))
    c[0, 0] = 1
    assert np.allclose(tonal_centroids(c), [[0, 1, 0, 1, 0, 0.5]])
    # F# (class 6): cos(7 pi) = cos(9 pi) = -1, cos(4 pi) = 1 -> (0, -1, 0, -1, 0, .5); distance 2 sqrt 2
    r = empty(2, 32)
    r[0, 0:16, 0] = True  # C
    r[1, 0:16, 6] = True  # F#
    r[0, 16:32, 12] = True  # bar 1: only track 0 sounds -> left out of TD
    assert math.isclose(measures([r], low=LOW)["TD"], 2 * math.sqrt(2))
    # the same music an octave apart: distance 0
    same = empty(2, 16)
    same[0, :, [0, 4, 7]] = True
    same[1, :, [12, 16, 19]] = True
    assert measures([same], low=LOW)["TD"] == pytest.approx(0, abs=1e-12)
    # transposition keeps distances (rotations of the three circles)
    a, b = empty(2, 16), empty(2, 16)
    a[0, :, [0, 4, 7]], a[1, :, [7, 11, 14]] = True, True  # C and G major
    b[0, :, [2, 6, 9]], b[1, :, [9, 13, 16]] = True, True  # D and A major
    assert measures([a], low=LOW)["TD"] == pytest.approx(measures([b], low=LOW)["TD"])
    # three tracks: the mean over the pairs (C, C, F#): 0, 2 sqrt 2, 2 sqrt 2
    three = empty(3, 16)
    three[0, :, 0] = three[1, :, 12] = three[2, :, 6] = True
    m = measures([three], low=LOW, per_track=True)
    assert m["TD[0,1]"] == pytest.approx(0, abs=1e-12)
    assert m["TD"] == pytest.approx(2 * 2 * math.sqrt(2) / 3)


def test_drum_pattern_only_on_drum_tracks():
    r = empty(2, 16)
    for step in range(0, 16, 2):  # 8 onsets on the 8th-note grid
        r[1, step, 0] = True
    for step in (1, 5, 9, 13):  # 4 off it
        r[1, step, 2] = True
    r[0, 3, 20] = True  # a melodic note off the grid: not a drum
    m = measures([r], low=LOW, drums=[False, True])
    assert m["DP"] == pytest.approx(8 / 12)
    assert math.isnan(measures([r], low=LOW)["DP"])  # no drum track
    # drum tracks stay out of the pitch measures
    assert m["UPC"] == 1.0 and m["NPB"] == 1.0
    # 32 steps a bar: the 16th grid is every other step (tolerance only for grids >= 3 steps)
    fine = empty(1, 32)
    fine[0, [0, 2], 0] = fine[0, 3, 5] = True
    assert measures([fine], low=LOW, steps_per_bar=32, drums=[True])["DP"] == pytest.approx(2 / 3)
    # 96 steps a bar: MuseGAN's mask, 1 on the 16th grid (every 6), 0.1 one step off
    grid = empty(1, 96)
    grid[0, [0, 7, 3], 0] = True
    assert measures([grid], low=LOW, steps_per_bar=96, drums=[True])["DP"] == pytest.approx(1.1 / 3)
    with pytest.raises(ValueError, match="flags"):
        measures([r], low=LOW, drums=[True])


def test_pitch_class_entropy_and_scale_consistency():
    r = empty(1, 16)
    for i, row in enumerate([0, 2, 4, 5]):  # C D E F, one onset each
        r[0, 4 * i : 4 * i + 2, row] = True
    m = measures([r], low=LOW)
    assert m["PCE"] == pytest.approx(2.0) and m["SC"] == 1.0
    chromatic = empty(1, 16)
    for i in range(12):
        chromatic[0, i, i] = True
    m = measures([chromatic], low=LOW)
    assert m["PCE"] == pytest.approx(math.log2(12)) and m["SC"] == pytest.approx(7 / 12)
    # mean over rolls: [2.0 bits, log2 12 bits]
    assert measures([r, chromatic], low=LOW)["PCE"] == pytest.approx((2 + math.log2(12)) / 2)


def test_set_values_are_pooled_and_nan_without_notes():
    a, b = empty(1, 16), empty(1, 64)
    a[0, 0, 0] = True  # 1 bar, not empty
    # b: 4 bars, all empty -> pooled EB = 4 / 5, not the mean of 0 and 1
    m = measures([a, b], low=LOW)
    assert m["EB"] == pytest.approx(4 / 5)
    silent = measures([b], low=LOW)
    assert silent["EB"] == 1.0 and all(math.isnan(silent[k]) for k in ("UPC", "QN", "PP", "PCE"))
    with pytest.raises(ValueError, match="tracks"):
        measures([empty(1), empty(2)], low=LOW)
    with pytest.raises(ValueError, match="empty set"):
        measures([], low=LOW)


def test_compare_rows_and_table():
    real = measures(chorale_like(6, 0), low=LOW)
    base = measures(shuffled_notes(chorale_like(6, 0), seed=1), low=LOW)
    rows = compare(real, real, base)
    assert [r["measure"] for r in rows] == ["EB", "UPC", "QN", "PP", "TD", "PCE", "SC", "NPB"]
    assert all(r["fake_diff"] == 0 for r in rows)  # no drums: DP left out
    assert {r["closer"] for r in rows} <= {"fake", "tie"}
    by = {r["measure"]: r for r in rows}
    assert by["NPB"]["closer"] == "tie" and by["SC"]["closer"] == "fake"
    table = markdown(rows).splitlines()
    assert table[0].startswith("| measure | data | model |") and len(table) == 2 + len(rows)


# -- the shuffled-notes baseline --------------------------------------------------------


def test_shuffled_notes_keep_counts_and_durations():
    rolls = chorale_like(5, 3)
    shuffled = shuffled_notes(rolls, seed=7)
    assert len(shuffled) == 5
    for a, b in zip(rolls, shuffled, strict=True):
        assert a.shape == b.shape and b.dtype == bool
        assert not np.array_equal(a, b)
        for t in range(a.shape[0]):
            assert sorted(notes(a[t])[2]) == sorted(notes(b[t])[2])
    again = shuffled_notes(rolls, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(shuffled, again, strict=True))
    other = shuffled_notes(rolls, seed=8)
    assert not all(np.array_equal(x, y) for x, y in zip(shuffled, other, strict=True))
    # keeps what it should, loses the harmony
    m_real, m_shuf = measures(rolls, low=LOW), measures(shuffled, low=LOW)
    assert m_shuf["NPB"] == m_real["NPB"] and m_shuf["QN"] == m_real["QN"]
    assert m_shuf["SC"] < m_real["SC"] == 1.0 and m_shuf["TD"] > m_real["TD"]


# -- pianoroll features ------------------------------------------------------------------


def as_tensor(rolls) -> torch.Tensor:
    return torch.from_numpy(np.stack(rolls)).float() * 2 - 1


def test_pianoroll_features_conformance_and_determinism():
    from artkit.conformance import check_extractor
    from artkit.eval.features import get_features

    check_extractor("pianoroll")
    a, b = get_features("pianoroll"), get_features("pianoroll")
    x = as_tensor(chorale_like(3, 0))
    fa, fb = a.embed(x), b.embed(x)
    assert fa.dtype == torch.float32 and torch.equal(fa, fb)
    assert a.label == "FD (pianoroll)" and a.native_input
    assert get_features("pianoroll:seed=1,width=4").name == "pianoroll:seed=1,width=4"
    assert not torch.equal(get_features("pianoroll:seed=1").embed(x), fa)
    # any track count and size; values > 0 sound, so only the sign matters
    odd = torch.rand(2, 3, 5, 7) * 2 - 1
    assert a.embed(odd).shape[0] == 2 and torch.equal(a.embed(odd), a.embed(odd.sign()))
    from artkit.errors import UsageError

    with pytest.raises(UsageError, match="whole numbers"):
        get_features("pianoroll:width=wide")


def test_pianoroll_fd_tells_music_from_noise_and_shuffles():
    from artkit.eval.metrics import frechet_distance_of
    from artkit_music.features import PianoRollFeatures

    f = PianoRollFeatures()
    a, b = chorale_like(100, 1), chorale_like(100, 2)
    density = np.mean([r.mean() for r in a])
    rng = np.random.default_rng(0)
    noise = [rng.random(r.shape) < density for r in a]

    def fd(x, y) -> float:
        return frechet_distance_of(f.embed(as_tensor(x)).double(), f.embed(as_tensor(y)).double())

    same, to_noise, to_shuffled = fd(a, b), fd(a, noise), fd(a, shuffled_notes(b, seed=0))
    assert to_noise > 20 * same and to_shuffled > 5 * same, (same, to_noise, to_shuffled)


# -- the benchmark -----------------------------------------------------------------------


def test_music_quality_benchmark_quick(tmp_path):
    pytest.importorskip("music21")  # the chorales corpus
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "music_quality.py"), "--quick", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads([ln for ln in result.stderr.splitlines() if ln.startswith("{")][-1])
    assert 2 <= report["n"] <= 8 and report["tracks"] == 4  # chorales:count=4, 8 rolls at most
    assert set(report["measures"]) == {"data", "model", "shuffled"}
    assert report["fd"]["model"] > 0 and report["fd"]["shuffled"] > 0
    assert report["measures"]["data"]["SC"] > 0.8  # Bach stays in key
    out = result.stdout
    assert "| measure | data | model |" in out and "| FD (pianoroll) to the data | value |" in out
    assert (tmp_path / "musegan" / "weights.safetensors").exists()


def test_music_quality_benchmark_on_midi_files(tmp_path, capsys):
    """``--samples DIR`` scores MIDI files (any generator's) instead of sampling a model."""
    import importlib.util

    pytest.importorskip("mido")
    from artkit_music.roll import Piece, piece_to_midi

    rolls = chorale_like(6, 5)
    for i, roll in enumerate(rolls):
        piece_to_midi(Piece(roll=roll, low=LOW), tmp_path / f"piece-{i}.mid")
    spec = importlib.util.spec_from_file_location(
        "music_quality", ROOT / "benchmarks" / "music_quality.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = [
        "--samples",
        str(tmp_path),
        "--data",
        f"midi:path={tmp_path}",
        "--n",
        "6",
        "--per-track",
    ]
    assert bench.main(argv) == 0
    out, err = capsys.readouterr()
    report = json.loads([ln for ln in err.splitlines() if ln.startswith("{")][-1])
    assert report["n_model"] == 6 and report["resolution"] == "64x48"
    # MIDI round trip is exact: the files' measures are the rolls' own
    expected = measures(rolls, low=LOW, per_track=True)
    got = report["measures"]["model"]
    assert set(got) == set(expected)
    assert all(got[k] == pytest.approx(v, nan_ok=True) for k, v in expected.items())
    assert "TD[0,1]" in out and "| FD (pianoroll) to the data | value |" in out
