"""The music plugin's data side: piano rolls, MIDI files, corpora, the midi medium, audio."""

from __future__ import annotations

import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mido")
pytest.importorskip("music21")

from artkit.conformance import check_dataset
from artkit.errors import ArtkitError, UsageError
from artkit_music import deps
from artkit_music.audio import SAMPLE_RATE, render_wav, synthesise
from artkit_music.corpus import chorale_tracks, chorales, folk, midi_folder
from artkit_music.medium import MidiMedium
from artkit_music.roll import (
    MAX_MIDI_BYTES,
    Piece,
    from_array,
    from_tensor,
    midi_to_piece,
    piece_to_midi,
    roll_png,
    to_array,
    write_tiny_midi_folder,
)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


def _random_piece(rng, tracks, steps, pitches, low, drums=()):
    roll = rng.random((tracks, steps, pitches)) < 0.12
    roll[0, :, 0] = False
    roll[0, 2:11, 0] = True  # a held note
    roll[0, 12:14, 0] = True  # re-struck after a rest
    return Piece(
        roll,
        low=low,
        tempo=float(rng.uniform(50, 180)),
        programs=tuple(int(p) for p in rng.integers(0, 128, tracks)),
        names=tuple(f"voice {k}" for k in range(tracks)),
        drums=drums,
    )


@pytest.mark.parametrize("seed", range(6))
def test_piece_midi_round_trip_is_exact(tmp_path, seed):
    rng = np.random.default_rng(seed)
    tracks = int(rng.integers(1, 6))
    drums = tuple(bool(d) for d in rng.random(tracks) < 0.4)
    piece = _random_piece(
        rng, tracks, int(rng.integers(16, 100)), int(rng.integers(12, 60)), 30, drums
    )
    path = piece_to_midi(piece, tmp_path / "x.mid", 'artkit:{"seed":1}')
    back = midi_to_piece(path, tracks=tracks, low=piece.low, pitches=piece.pitches)
    assert back.roll.shape == piece.roll.shape
    assert np.array_equal(back.roll, piece.roll)
    assert back.programs == piece.programs and back.names == piece.names
    assert back.drums == piece.drums
    assert back.tempo == pytest.approx(piece.tempo, abs=0.01)
    assert MidiMedium.read_provenance(path) == {"seed": 1}
    # the held note is one MIDI note; the re-struck one a second
    starts = [n for n in piece.notes() if n[0] == 0 and n[3] == piece.low]
    assert [(s, e) for _k, s, e, _p in starts][:2] == [(2, 11), (12, 14)]


def test_conversions_and_folding():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 32, 24)).astype(np.float32)
    piece = from_tensor(x, low=40, tempo=90)
    assert piece.roll.dtype == bool and np.array_equal(piece.roll, x > 0)
    arr = to_array(piece)
    assert arr.dtype == np.uint8 and arr.shape == (32, 24, 3) and set(np.unique(arr)) <= {0, 255}
    assert np.array_equal(from_array(arr, low=40).roll, piece.roll)
    # notes above and below the window (36..83) fold by octaves into it
    from artkit_music.roll import fold_pitch, notes_to_roll

    notes = np.array([[0, 0, 2, 100], [0, 2, 4, 10], [0, 4, 5, 60], [3, 0, 9, 60]])
    roll = notes_to_roll(notes, 1, 6, 36, 48)  # track 3 does not exist: dropped
    assert roll[0, 0:2, 100 - 24 - 36].all() and roll[0, 2:4, 10 + 36 - 36].all()
    assert roll[0, 4, 60 - 36] and roll.sum() == 5
    assert fold_pitch(100, 36, 48) == 76 and fold_pitch(10, 36, 48) == 46
    assert fold_pitch(61, 60, 1) is None and fold_pitch(72, 60, 1) == 60
    narrow = notes_to_roll(np.array([[0, 0, 1, 73], [0, 1, 2, 75]]), 1, 2, 60, 2)
    assert narrow[0, 0, 1] and not narrow[0, 1].any()


def test_roll_png_is_readable():
    rng = np.random.default_rng(1)
    piece = _random_piece(rng, 4, 64, 48, 36)
    im = roll_png(piece)
    assert im.mode == "RGB" and im.width >= 64 * 4 and im.height >= 48 * 3
    colours = {c for _n, c in im.getcolors(1 << 16)}
    assert len(colours) >= 6  # ground, lines and four track colours (and onset edges)
    empty = roll_png(Piece(np.zeros((2, 16, 12), bool)))
    assert max(c for _n, c in empty.getcolors(1 << 16))[0] < 100  # all dark


def test_bad_midi_files_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file at all")
    cut = tmp_path / "cut.mid"
    piece = _random_piece(np.random.default_rng(2), 2, 32, 24, 40)
    data = piece_to_midi(piece, tmp_path / "ok.mid").read_bytes()
    cut.write_bytes(data[:40])
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + b"\0" * (MAX_MIDI_BYTES + 10))
    for path, words in ((junk, "not a MIDI file"), (cut, "corrupt"), (huge, "bytes")):
        with pytest.raises(ArtkitError) as err:
            midi_to_piece(path)
        assert words in _one_line(err.value)
        with pytest.raises(ArtkitError):
            MidiMedium.read_provenance(path)
    assert MidiMedium.read_provenance(tmp_path / "ok.mid") is None  # no provenance: None
    # a folder dataset skips them and says which
    (tmp_path / "ok2.mid").write_bytes(data)
    ds = midi_folder(resolution="16x24", channels=2, path=str(tmp_path), min_active=0.1)
    assert {name for name, _ in ds.skipped} == {"junk.mid", "cut.mid", "huge.mid"}
    assert len(ds) >= 2
    only_junk = tmp_path / "only-junk"
    only_junk.mkdir()
    (only_junk / "a.mid").write_bytes(b"MThd\0\0")
    with pytest.raises(UsageError) as err:
        midi_folder(resolution=16, channels=1, path=str(only_junk))
    assert "none of the 1 MIDI files is usable" in _one_line(err.value)


def test_missing_dependency_names_the_extra():
    with pytest.raises(UsageError) as err:
        deps.require("artkit_no_such_module_xyz")
    assert "pip install 'artkit[music]'" in _one_line(err.value)


def test_chorales_small_build_is_fast_and_has_four_voices():
    start = time.perf_counter()
    ds = chorales(resolution="64x48", channels=4, count=4)
    first = time.perf_counter() - start
    assert len(ds.pieces) == 4 and len(ds) >= 4
    arr = ds.as_array()
    assert arr.dtype == np.uint8 and arr.shape[1:] == (64, 48, 4)
    assert ds[0].shape == (64, 48, 4) and set(np.unique(arr)) == {0, 255}
    per_voice = (arr > 0).sum(axis=(0, 1, 2))
    assert (per_voice > 0).all(), per_voice  # notes in every voice
    # soprano sits above bass on average
    rows = np.arange(48)
    mean = [(arr[..., v] > 0).sum(axis=(0, 1)) @ rows / per_voice[v] for v in range(4)]
    assert mean[0] > mean[1] > mean[3] and mean[2] > mean[3]
    assert first < 30
    start = time.perf_counter()
    again = chorales(resolution="32x24", channels=2, count=4)  # other geometry: parses nothing
    assert time.perf_counter() - start < 2
    assert again.pieces == ds.pieces and again[0].shape == (32, 24, 2)
    assert again.fingerprint() != ds.fingerprint()
    assert chorales(resolution="64x48", channels=4, count=4).fingerprint() == ds.fingerprint()
    assert chorale_tracks(1) == [0, 0, 0, 0] and chorale_tracks(2) == [0, 0, 1, 1]
    im = ds.preview_image(0)
    assert im.width >= 64 * 4 and im.height >= 48 * 3
    assert "bar" in ds.label(0)


def test_folk_has_melody_and_chords():
    ds = folk(resolution="64x48", channels=2, count=4)
    arr = ds.as_array()
    assert arr.dtype == np.uint8 and arr.shape[1:] == (64, 48, 2) and len(ds.pieces) == 4
    melody, chords = (arr[..., 0] > 0), (arr[..., 1] > 0)
    assert melody.any(axis=2).mean() > 0.5  # the tune sounds most of the time
    assert chords.sum(axis=2).max() >= 3  # block chords: three notes at once
    assert melody.sum(axis=2).max() <= 2  # a melody is (nearly) one note at a time
    one = folk(resolution="32x24", channels=1, count=4)
    assert one[0].shape == (32, 24, 1)


def test_params_are_validated():
    with pytest.raises(UsageError) as err:
        chorales(resolution=16, channels=4, count=-1)
    assert "count" in _one_line(err.value)
    with pytest.raises(UsageError) as err:
        folk(resolution=16, channels=2, count=2, min_active=2.0)
    assert "min_active" in _one_line(err.value)
    with pytest.raises(UsageError) as err:
        chorales(resolution="16x200", channels=4, count=1)
    assert "128" in _one_line(err.value)
    with pytest.raises(UsageError):
        chorales(resolution=16, channels=0, count=1)


def test_midi_folder_dataset(tmp_path):
    folder = write_tiny_midi_folder(tmp_path / "tiny")
    assert len(list(folder.glob("*.mid"))) == 3
    for channels in (1, 2, 4):
        ds = midi_folder(resolution="32x48", channels=channels, path=str(folder))
        arr = ds.as_array()
        assert arr.shape[1:] == (32, 48, channels) and arr.dtype == np.uint8 and len(ds) >= 3
        assert not ds.skipped
    four = midi_folder(resolution="64x48", channels=4, path=str(folder), hop=4)
    # four-bar windows every four bars: one from the 4-bar chorale, two from each 8-bar file
    assert len(four) == 5
    chorale = next(i for i in range(len(four)) if four.label(i).startswith("chorale.mid"))
    assert ((four[chorale] > 0).sum(axis=(0, 1)) > 0).all()  # four voices, four tracks


def test_medium_save_writes_mid_png_wav_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")  # the numpy synthesiser
    from artkit.images import read_provenance as png_provenance

    class Config:
        low, tempo, programs, names = 48, 120.0, "52,33", ("lead", "bass")

    class Model:
        config = Config()

    batch = np.random.default_rng(0).uniform(-1, 1, (2, 2, 32, 24)).astype(np.float32)
    items = MidiMedium.to_items(batch, model=Model())
    assert len(items) == 2 and items[0].low == 48 and items[0].programs == (52, 33)
    assert items[0].names == ("lead", "bass") and items[0].tempo == 120.0
    prov = {"model": "musegan", "seed": 7, "note": "ünïcode"}
    path = MidiMedium.save(items[0], tmp_path / "000007.mid", prov, audio=True, durable=False)
    assert path.suffix == ".mid" and path.exists()
    assert path.with_suffix(".png").exists() and path.with_suffix(".wav").exists()
    assert MidiMedium.read_provenance(path) == prov
    assert png_provenance(path.with_suffix(".png")) == prov
    back = midi_to_piece(path, tracks=2, low=48, pitches=24)
    assert np.array_equal(back.roll, items[0].roll)
    arr = MidiMedium.load_array(path, 2, "16x24", low=48)
    assert arr.shape == (16, 24, 2) and np.array_equal(arr > 0, to_array(items[0])[:16] > 0)
    medley = MidiMedium.join(items)
    assert medley.steps == 64 and np.array_equal(medley.roll[:, 32:], items[1].roll)
    im = MidiMedium.preview(path)
    assert im.mode == "RGB" and im.width >= 32 * 4
    with wave.open(str(path.with_suffix(".wav"))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
    # a second save replaces the first, as images do
    MidiMedium.save(items[1], path, {"seed": 8}, durable=False)
    assert MidiMedium.read_provenance(path) == {"seed": 8}
    assert json.dumps(prov)  # provenance stays JSON


@pytest.mark.parametrize("theirs", [".mid", ".png", ".wav"])
def test_medium_save_never_replaces_a_file_artkit_did_not_write(tmp_path, monkeypatch, theirs):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    piece = MidiMedium.to_items(np.ones((1, 1, 16, 12), np.float32))[0]
    target = tmp_path / "take.mid"
    # what artkit wrote itself, even without provenance, it may replace
    MidiMedium.save(piece, target, None, audio=True, durable=False)
    MidiMedium.save(piece, target, {"seed": 1}, audio=True, durable=False)
    with wave.open(str(target.with_suffix(".wav"))) as w:  # the INFO mark does not hurt readers
        assert w.getnframes() > 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    mine = target.with_suffix(theirs)
    mine.write_bytes(b"the user's own take")
    before[mine.name] = mine.read_bytes()
    with pytest.raises(UsageError) as err:
        MidiMedium.save(piece, target, {"seed": 2}, audio=True, durable=False)
    assert _one_line(err.value) == (
        f"{mine} exists and was not written by artkit; remove it or choose another out"
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written


def test_numpy_synth_length_and_level(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    roll = np.zeros((3, 32, 24), bool)
    roll[0, 0:8, 12] = roll[1, 8:16, 5] = True
    roll[2, ::4, 0] = True
    piece = Piece(roll, low=48, tempo=120.0, drums=(False, False, True))
    samples = synthesise(piece)
    seconds = 32 * 60 / (120 * 4)  # 32 sixteenths at 120 bpm: 4 s
    assert len(samples) == round(seconds * SAMPLE_RATE)
    assert 0.5 < np.abs(samples).max() <= 1.0
    assert np.sqrt((samples[: SAMPLE_RATE // 2] ** 2).mean()) > 0.05  # not silent
    assert np.abs(samples[-SAMPLE_RATE // 4 :]).max() < np.abs(samples).max()
    path = render_wav(piece, tmp_path / "a.wav", durable=False)
    with wave.open(str(path)) as w:
        assert w.getnframes() == len(samples) and w.getframerate() == SAMPLE_RATE
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.abs(pcm).max() > 10000


@pytest.mark.parametrize("name", ["chorales", "folk", "midi"])
def test_conformance(name):
    check_dataset(name)


def test_fluidsynth_is_used_when_found_and_hidden_by_the_switch(tmp_path, monkeypatch):
    import sys

    from artkit_music import audio

    fake = tmp_path / "bin" / "fluidsynth"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, wave\n"
        "out = sys.argv[sys.argv.index('-F') + 1]\n"
        "with wave.open(out, 'wb') as w:\n"
        "    w.setnchannels(2); w.setsampwidth(2); w.setframerate(22050)\n"
        "    w.writeframes(b'\\x00\\x10' * 2 * 1000)\n"
    )
    fake.chmod(0o755)
    font = tmp_path / "GM.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setattr(audio, "SOUNDFONTS", (str(font),))
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("ARTKIT_SYSTEM_ASSETS", raising=False)
    assert audio.locate_fluidsynth() == f"{fake} with {font}"
    piece = Piece(np.ones((1, 16, 12), bool), low=60)
    path = audio.render_wav(piece, tmp_path / "f.wav", durable=False)
    with wave.open(str(path)) as w:  # the fake's 1000 stereo frames, mixed to mono
        assert w.getnchannels() == 1 and w.getnframes() == 1000
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    assert audio.locate_fluidsynth() is None
    path = audio.render_wav(piece, tmp_path / "n.wav", durable=False)
    with wave.open(str(path)) as w:  # the numpy synth: the piece's own length
        assert w.getnframes() == round(piece.seconds() * SAMPLE_RATE)


def test_parsed_pieces_are_cached_on_disk_and_damage_is_a_miss(monkeypatch):
    from artkit_music import corpus

    monkeypatch.setattr(corpus, "_MEMO", {})
    first = chorales(resolution=16, channels=4, count=2, seed=3)
    monkeypatch.setattr(corpus, "_MEMO", {})

    def no_parsing(path):
        raise AssertionError(f"parsed {path} again")

    monkeypatch.setattr(corpus, "_parse_chorale", no_parsing)
    again = chorales(resolution=16, channels=4, count=2, seed=3)
    assert again.pieces == first.pieces and np.array_equal(again.as_array(), first.as_array())
    (store,) = (Path(os.environ["ARTKIT_CACHE_DIR"]) / "music").glob("chorales-*.npz")
    store.write_bytes(b"PK\x03\x04 damaged")
    monkeypatch.setattr(corpus, "_MEMO", {})
    monkeypatch.undo()
    monkeypatch.setattr(corpus, "_MEMO", {})
    rebuilt = chorales(resolution=16, channels=4, count=2, seed=3)
    assert rebuilt.fingerprint() == first.fingerprint()


def test_midi_folder_fingerprint_follows_the_files(tmp_path):
    folder = write_tiny_midi_folder(tmp_path / "tiny")
    ds = midi_folder(resolution=32, channels=2, path=str(folder))
    same = midi_folder(resolution=32, channels=2, path=str(folder))  # from the decoded cache
    assert same.fingerprint() == ds.fingerprint() and np.array_equal(same.as_array(), ds.as_array())
    assert [same.label(i) for i in range(len(same))] == [ds.label(i) for i in range(len(ds))]
    piece = Piece(np.ones((1, 32, 12), bool), low=60)
    piece_to_midi(piece, folder / "sub" / "extra.mid")
    more = midi_folder(resolution=32, channels=2, path=str(folder))
    assert more.fingerprint() != ds.fingerprint() and len(more) > len(ds)
    flat = midi_folder(resolution=32, channels=2, path=str(folder), recursive=False)
    assert len(flat) == len(ds)
