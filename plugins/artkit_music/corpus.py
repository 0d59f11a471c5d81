"""Piano-roll datasets: Bach chorales and folk tunes from the music21 corpus, and MIDI folders.

Every dataset is a set of windows cut from whole pieces: a window is ``T`` sixteenth
steps (the model's ``resolution`` is ``"TxP"``) starting at a bar line, every
``hop`` bars (default half a window), and a window where fewer than ``min_active``
of the steps sound is dropped. Its picture is a uint8 array ``(T, P, tracks)``,
255 where a track sounds a pitch (``low`` + row) at a step; notes outside the
``P`` rows fold by octaves into them (see :mod:`artkit_music.roll`).

Parsing with music21 is the slow part (about a fifth of a second a piece), so
each parsed piece is kept as a list of notes in a cache file under
``<artkit cache>/music`` keyed by the music21 version (``ARTKIT_DATA_CACHE=0``
turns it off, as for the decoded-image cache): a second build, at any
resolution, parses nothing, and ``count=N`` parses only the pieces it needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import operator
import os
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from artkit import dataset_cache
from artkit.config_checks import image_size, resolution_value
from artkit.errors import ArtkitError, UsageError

from .configs import MAX_TRACKS, CorpusConfig, MidiFolderConfig
from .deps import require
from .roll import STEPS_PER_BAR, STEPS_PER_BEAT, from_array, midi_to_piece, roll_png

#: bump when parsing a piece into notes changes (old cache entries then miss)
PARSE_VERSION = 1
#: bump when reading MIDI files into notes changes
MIDI_READ_VERSION = 1
#: bump when cutting pieces into windows changes what any item looks like
WINDOW_VERSION = 1
#: largest note-cache file read back
MAX_CACHE_BYTES = 512 << 20
#: largest number of MIDI files in a midi dataset
MAX_MIDI_FILES = 100_000
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
#: time signatures that fit the 16-step 4/4 grid (a 2/4 grid bar is two real bars)
_METRES = {"4/4", "2/4", "2/2", "C", "C|"}
#: chord symbols are realised as block chords in this octave (C3..B3), then folded
CHORD_BASE = 48
_CHORD_RE = re.compile(r'"[A-G][#b]?(m|min|maj|dim|aug|sus)?[0-9]*(/[A-G][#b]?)?"')


# --------------------------------------------------------------------------- the source


class PianoRolls:
    """Windows of piano rolls as uint8 arrays ``(T, P, tracks)``: an ImageSource."""

    def __init__(
        self,
        *,
        kind: str,
        pieces: list[tuple[str, Any]],
        resolution: Any,
        channels: int,
        low: int,
        hop: int,
        min_active: float,
        spec: dict[str, Any],
        track_map: Callable[[int], list[int]] | None = None,
        prebuilt: tuple[Any, list[str], list[str]] | None = None,
        model_defaults: dict[str, Any] | None = None,
    ):
        steps, pitches = _geometry(kind, resolution, channels)
        self.kind = kind
        self.resolution = resolution_value(steps, pitches)
        self.channels = channels
        self.low = low
        self._model_defaults = dict(model_defaults or {})
        self.steps, self.pitches = steps, pitches
        self.skipped: list[tuple[str, str]] = [tuple(x) for x in spec.pop("_skipped", [])]
        if prebuilt is None:
            images, labels = cut_windows(
                kind, pieces, steps, pitches, channels, low, hop, min_active, track_map
            )
            names = [name for name, _ in pieces]
        else:  # (images, labels, piece names) from the decoded-dataset cache
            images, labels, names = prebuilt
        self.images = images
        self.pieces = list(names)
        self._labels = list(labels)
        spec = {
            **spec,
            "dataset": kind,
            "parse": PARSE_VERSION,
            "window": WINDOW_VERSION,
            "resolution": self.resolution,
            "channels": channels,
            "low": low,
            "hop": hop,
            "min_active": min_active,
            "pieces": self.pieces,
        }
        self._fingerprint = hashlib.sha256(
            json.dumps(spec, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]

    # -- the ImageSource contract -------------------------------------------------

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.images[index]
        i = operator.index(index)
        n = len(self.images)
        if not -n <= i < n:
            raise IndexError(f"{self.kind} dataset index {i} out of range ({n} windows)")
        return self.images[i]

    def __iter__(self) -> Any:
        return iter(self.images)

    def as_array(self) -> Any:
        """All windows as one uint8 array ``(N, T, P, tracks)`` (the data itself: read-only)."""
        return self.images

    def fingerprint(self) -> str:
        return self._fingerprint

    def label(self, index: int) -> str:
        """Where window ``index`` comes from: ``piece bar N``."""
        return self._labels[operator.index(index)]

    @property
    def model_hints(self) -> dict[str, Any]:
        """The lowest pitch the rolls were made with: a music model must write notes from it."""
        return {"low": self.low}

    @property
    def model_defaults(self) -> dict[str, Any]:
        """Model settings that suit these rolls, followed where the user gives none."""
        return dict(self._model_defaults)

    def preview_image(self, index: int) -> Any:
        """Window ``index`` drawn as a piano roll (PIL RGB image)."""
        return roll_png(from_array(self[index], low=self.low))

    def __repr__(self) -> str:
        return (
            f"PianoRolls({self.kind}, {len(self.pieces)} pieces, {len(self)} windows, "
            f"resolution={self.resolution}, channels={self.channels})"
        )


def cut_windows(
    kind: str,
    pieces: list[tuple[str, Any]],
    steps: int,
    pitches: int,
    channels: int,
    low: int,
    hop: int,
    min_active: float,
    track_map: Callable[[int], list[int]] | None = None,
) -> tuple[Any, list[str]]:
    """Windows of every piece as uint8 ``(N, steps, pitches, channels)``, and their labels."""
    import numpy as np

    hop_bars = hop or max(1, steps // STEPS_PER_BAR // 2)
    stride = hop_bars * STEPS_PER_BAR
    windows, labels = [], []
    for name, notes in pieces:
        roll = _piece_roll(notes, channels, low, pitches, track_map)
        length = roll.shape[1]
        for start in range(0, max(length - steps, 0) + 1, stride):
            window = roll[:, start : start + steps]
            if window.shape[1] < steps:
                window = np.pad(window, ((0, 0), (0, steps - window.shape[1]), (0, 0)))
            if window.any(axis=(0, 2)).mean() < min_active or not window.any():
                continue
            windows.append(window.transpose(1, 2, 0))
            labels.append(f"{name} bar {start // STEPS_PER_BAR + 1}")
    if not windows:
        raise UsageError(
            f"{kind} dataset: no {steps}-step window of the {len(pieces)} piece(s) has notes "
            f"in at least {min_active:.0%} of its steps; lower min_active= or the resolution"
        )
    images = np.stack(windows).astype(np.uint8) * np.uint8(255)
    return images.reshape(len(windows), steps, pitches, channels), labels


def _geometry(kind: str, resolution: Any, channels: Any) -> tuple[int, int]:
    try:
        steps, pitches = image_size(resolution)
    except ValueError:
        raise UsageError(
            f"{kind} dataset: resolution={resolution!r} must be STEPSxPITCHES (64x48) or one integer"
        ) from None
    if (
        isinstance(channels, bool)
        or not isinstance(channels, int)
        or not 1 <= channels <= MAX_TRACKS
    ):
        raise UsageError(
            f"{kind} dataset: channels={channels!r} is the number of tracks, from 1 to {MAX_TRACKS}"
        )
    if pitches > 128:
        raise UsageError(f"{kind} dataset: {pitches} pitch rows is more than MIDI's 128")
    if steps > 4096:
        raise UsageError(f"{kind} dataset: {steps} steps a window is more than 4096")
    return steps, pitches


def _piece_roll(
    notes: Any, channels: int, low: int, pitches: int, track_map: Callable[[int], list[int]] | None
) -> Any:
    """Bool roll ``(channels, length, pitches)`` of one piece's ``(voice, start, end, pitch)`` notes."""
    import numpy as np

    from .roll import notes_to_roll

    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
    if track_map is not None and len(arr):
        table = np.array(track_map(channels) + [-1] * 64, dtype=np.int64)
        voice = arr[:, 0]
        arr = arr.copy()
        arr[:, 0] = np.where((voice >= 0) & (voice < len(table)), table[np.clip(voice, 0, 63)], -1)
    length = int(arr[:, 2].max()) if len(arr) else 1
    length = -(-length // STEPS_PER_BAR) * STEPS_PER_BAR  # the last bar's end
    return notes_to_roll(arr, channels, length, low, pitches)


# --------------------------------------------------------------------------- the note cache


class _NoteCache:
    """Parsed pieces as int32 note rows, kept in one ``.npz`` per corpus and music21 version."""

    def __init__(self, kind: str, version: str):
        from artkit.assets import cache_root

        self.enabled = dataset_cache.enabled()
        key = hashlib.sha256(f"{kind}:{version}:{PARSE_VERSION}".encode()).hexdigest()[:16]
        self.path = cache_root() / "music" / f"{kind}-{key}.npz"
        self.entries: dict[str, Any] = {}  # name -> notes (n, 4) int32, or None (unusable)
        self.fresh = 0  # entries parsed since the last save
        if self.enabled:
            self._load()

    def _load(self) -> None:
        import numpy as np

        try:
            if self.path.stat().st_size > MAX_CACHE_BYTES:
                return
            with np.load(self.path, allow_pickle=False) as z:
                names, offsets, notes, ok = z["names"], z["offsets"], z["notes"], z["ok"]
            if not (
                names.ndim == 1
                and offsets.shape == (len(names) + 1,)
                and ok.shape == names.shape
                and notes.ndim == 2
                and notes.shape[1] == 4
                and offsets[-1] == len(notes)
            ):
                return
            for i, name in enumerate(names.tolist()):
                self.entries[str(name)] = (
                    notes[offsets[i] : offsets[i + 1]].astype(np.int32) if ok[i] else None
                )
        except Exception:  # a damaged cache is a miss: parse again
            self.entries = {}

    def get(self, name: str, parse: Callable[[], Any]) -> Any:
        if name in self.entries:
            return self.entries[name]
        import numpy as np

        try:
            notes = parse()
        except ArtkitError:
            raise
        except Exception:  # music21 fails on some corpus files: leave them out
            notes = None
        if notes is not None:
            notes = np.asarray(notes, dtype=np.int32).reshape(-1, 4)
            if len(notes) == 0:
                notes = None
        self.entries[name] = notes
        self.fresh += 1
        return notes

    def save(self) -> None:
        if not (self.enabled and self.fresh):
            return
        import numpy as np

        from artkit.atomic import atomic_open

        names = sorted(self.entries)
        parts = [self.entries[n] for n in names]
        sizes = [0 if p is None else len(p) for p in parts]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        notes = [p for p in parts if p is not None]
        arrays = {
            "names": np.array(names, dtype=str),
            "offsets": offsets,
            "notes": np.concatenate(notes) if notes else np.zeros((0, 4), np.int32),
            "ok": np.array([p is not None for p in parts], dtype=bool),
        }
        try:
            with atomic_open(self.path, durable=False) as fh:
                np.savez(fh, **arrays)
            self.fresh = 0
        except OSError:
            pass  # an unwritable cache costs speed, never the run


#: parsed pieces kept for this process: (kind, name) -> notes
_MEMO: dict[tuple[str, str], Any] = {}


def _collect(
    kind: str, candidates: list[tuple[str, Callable[[], Any]]], count: int
) -> list[tuple[str, Any]]:
    """Parse candidates in order (cached) until ``count`` usable pieces (0 = all)."""
    music21 = require("music21")
    cache: _NoteCache | None = None
    out = []
    try:
        for name, parse in candidates:
            if (kind, name) in _MEMO:
                notes = _MEMO[(kind, name)]
            else:
                if cache is None:
                    cache = _NoteCache(kind, str(music21.__version__))
                notes = _MEMO[(kind, name)] = cache.get(name, parse)
                if cache.fresh >= 64:  # a long first build keeps what it parsed so far
                    cache.save()
            if notes is not None:
                out.append((name, notes))
                if count and len(out) >= count:
                    break
    finally:
        if cache is not None:
            cache.save()
    return out


def _order(items: list[Any], count: int, seed: int, salt: str) -> list[Any]:
    """All items, in a seeded random order when only ``count`` of them are wanted."""
    if not count:
        return items
    out = list(items)
    random.Random(f"artkit-{salt}:{seed}").shuffle(out)
    return out


# --------------------------------------------------------------------------- music21 scores


def _steps(quarters: float) -> int:
    return round(float(quarters) * STEPS_PER_BEAT)


def _pickup_shift(part: Any) -> float:
    """Quarter notes to add so the piece's bar lines fall on whole grid bars."""
    measure = part.getElementsByClass("Measure").first()
    if measure is None:
        return 0.0
    try:
        bar = float(measure.barDuration.quarterLength)
        have = float(measure.duration.quarterLength)
    except Exception:
        return 0.0
    if 0 < have < bar:
        return bar - have
    return 0.0


def _metre_ok(score: Any) -> bool:
    from music21 import meter

    found = {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)}
    return bool(found) and found <= {"4/4", "2/4", "2/2"}


def _part_notes(
    part: Any, voice: int, shift: float
) -> tuple[list[tuple[int, int, int, int]], list]:
    """(note rows of a part, its chord symbols as (offset, pitch classes))."""
    from music21 import harmony

    rows, symbols = [], []
    for n in part.flatten().notes:
        offset = float(n.offset) + shift
        if isinstance(n, harmony.ChordSymbol):
            pcs = sorted({p.pitchClass for p in n.pitches})
            symbols.append((offset, pcs))
            continue
        if n.duration.isGrace or n.duration.quarterLength <= 0:
            continue
        start = _steps(offset)
        end = max(_steps(offset + float(n.duration.quarterLength)), start + 1)
        for pitch in n.pitches:
            rows.append((voice, start, end, int(pitch.midi)))
    return rows, symbols


_VOICES = ("soprano", "alto", "tenor", "bass")


def _satb(score: Any) -> list[Any] | None:
    """The four S, A, T, B parts of a chorale, or None."""
    parts = list(score.parts)
    named = []
    for voice in _VOICES:
        found = [p for p in parts if str(p.partName or "").strip().lower().startswith(voice)]
        if len(found) != 1:
            break
        named.append(found[0])
    if len(named) == 4:
        return named
    return parts if len(parts) == 4 else None


def _parse_chorale(path: str) -> Any:
    from music21 import converter

    score = converter.parse(path)
    parts = _satb(score)
    if parts is None or not _metre_ok(score):
        return None
    shift = _pickup_shift(parts[0])
    rows = []
    for v, part in enumerate(parts):
        rows += _part_notes(part, v, shift)[0]
    return rows


def chorale_tracks(channels: int) -> list[int]:
    """Track of each voice (S, A, T, B) for ``channels`` tracks."""
    if channels >= 4:
        return [0, 1, 2, 3]
    out = []
    for k in range(channels):
        out += [k] * ((k + 1) * 4 // channels - k * 4 // channels)
    return out


#: chorales move mostly in quarter notes, and with a voice a track (4 tracks or more) each
#: track sings one note at a time: a musegan told so by its data sings lines, not
#: clusters of sixteenths (see artkit_music.torch_musegan)
CHORALE_NOTE_STEPS = {"note_steps": 4}
CHORALE_MODEL_DEFAULTS = {**CHORALE_NOTE_STEPS, "voices": "mono"}


def chorales(*, resolution: Any, channels: int, **params: Any) -> PianoRolls:
    """Bach's four-voice chorales (music21 corpus) as piano rolls, one voice a track.

    Chorales with exactly one soprano, alto, tenor and bass part (or exactly four
    parts) in 4/4 are used; bar lines are kept on grid bars (a pickup is padded).
    With 4 channels the tracks are S, A, T, B; with fewer, neighbouring voices
    share a track (1: all four; 2: S+A and T+B; 3: S, A, T+B); beyond 4 the
    extra tracks stay silent.
    """
    config = CorpusConfig(**params)
    _geometry("chorales", resolution, channels)
    music21 = require("music21")
    paths = sorted(
        (p for p in music21.corpus.getComposer("bach") if Path(p).name.startswith("bwv")),
        key=lambda p: Path(p).name,
    )
    candidates = [
        (Path(p).name, lambda p=p: _parse_chorale(str(p)))
        for p in _order(paths, config.count, config.seed, "chorales")
    ]
    pieces = _collect("chorales", candidates, config.count)
    if not pieces:
        raise ArtkitError("chorales dataset: music21's corpus gave no usable chorale")
    return PianoRolls(
        kind="chorales",
        pieces=pieces,
        resolution=resolution,
        channels=channels,
        low=config.low,
        hop=config.hop,
        min_active=config.min_active,
        spec={"count": config.count, "seed": config.seed, "music21": str(music21.__version__)},
        track_map=chorale_tracks,
        model_defaults=CHORALE_MODEL_DEFAULTS if channels >= 4 else CHORALE_NOTE_STEPS,
    )


# --------------------------------------------------------------------------- folk tunes


def _abc_tunes(path: Path) -> list[tuple[int | None, str, bool]]:
    """``(X number or None for a one-tune file, metre, has chord symbols)`` of each tune."""
    try:
        text = path.read_text(encoding="latin-1")
    except OSError:
        return []
    blocks = re.split(r"^X:", text, flags=re.M)
    tunes = []
    many = len(blocks) > 2
    for block in blocks[1:]:
        number = re.match(r"\s*(\d+)", block)
        metres = re.findall(r"^M:\s*(\S+)", block, flags=re.M)
        if len(set(metres)) != 1:
            continue
        tunes.append(
            (
                int(number.group(1)) if (many and number) else None,
                metres[0],
                bool(_CHORD_RE.search(block)),
            )
        )
    return tunes


def _fitted_chords(
    rows: list[tuple[int, int, int, int]], length: int
) -> list[tuple[int, list[int]]]:
    """A major or minor triad per half bar that best fits the melody: (start step, pitch classes).

    For tunes without chord symbols: each pitch class sounding in the half bar scores
    its duration for a triad holding it (the root counting double), the previous
    chord wins ties, so the accompaniment moves only when the tune does.
    """
    import numpy as np

    half = STEPS_PER_BAR // 2
    spans = max(1, math.ceil(length / half))
    weight = np.zeros((spans, 12))
    for _v, start, end, pitch in rows:
        for t in range(start, end):
            weight[t // half, pitch % 12] += 1
    triads = [((r, (r + 4) % 12, (r + 7) % 12)) for r in range(12)]
    triads += [((r, (r + 3) % 12, (r + 7) % 12)) for r in range(12)]
    out: list[tuple[int, list[int]]] = []
    previous = None
    for s in range(spans):
        if not weight[s].any():
            continue
        scores = [weight[s][list(t)].sum() + weight[s][t[0]] for t in triads]
        best = int(np.argmax(scores))
        if previous is not None and scores[previous] >= scores[best]:
            best = previous
        if best != previous:
            out.append((s * half, sorted(triads[best])))
        previous = best
    return out


def _parse_folk(path: str, number: int | None) -> Any:
    from music21 import converter

    score = converter.parse(path, number=number) if number is not None else converter.parse(path)
    if hasattr(score, "scores") and not hasattr(score, "parts"):  # an Opus
        return None
    parts = list(score.parts)
    if not parts or not _metre_ok(score):
        return None
    shift = _pickup_shift(parts[0])
    rows, symbols = _part_notes(parts[0], 0, shift)
    if not rows:
        return None
    length = max(r[2] for r in rows)
    chords = [(_steps(o), pcs) for o, pcs in symbols]
    if not chords:
        chords = _fitted_chords(rows, length)
    for i, (start, pcs) in enumerate(chords):
        end = chords[i + 1][0] if i + 1 < len(chords) else length
        if end > start:
            rows += [(1, start, end, CHORD_BASE + pc) for pc in pcs]
    return rows


_FOLK: dict[str, list[tuple[str, str, int | None, bool]]] = {}


def _folk_candidates(music21: Any) -> list[tuple[str, str, int | None, bool]]:
    """(name, path, tune number, has chord symbols) of every 4/4 or 2/4 folk tune."""
    version = str(music21.__version__)
    if version not in _FOLK:
        _FOLK[version] = _scan_folk(music21)
    return _FOLK[version]


def _scan_folk(music21: Any) -> list[tuple[str, str, int | None, bool]]:
    out = []
    for collection in ("nottingham-dataset", "ryansMammoth", "essenFolksong"):
        try:
            paths = sorted(music21.corpus.getComposer(collection), key=lambda p: Path(p).name)
        except Exception:
            continue
        for path in paths:
            path = Path(path)
            if path.suffix.lower() != ".abc":
                continue
            for number, metre, chords in _abc_tunes(path):
                if metre not in _METRES:
                    continue
                name = f"{collection}/{path.stem}" + (f"#{number}" if number is not None else "")
                out.append((name, str(path), number, chords))
    return out


def folk(*, resolution: Any, channels: int, **params: Any) -> PianoRolls:
    """Folk tunes in 4/4, 2/2 and 2/4 from the music21 corpus (Nottingham, Ryan's Mammoth, Essen).

    Track 0 is the melody; track 1 the chords: the tune's chord symbols as block
    chords where it has them, else a major or minor triad per half bar fitted to
    the melody; further tracks stay silent, and with one track there are no chords.
    With ``count`` > 0 the tunes that have chord symbols come first (in a seeded
    order), then the others.
    """
    config = CorpusConfig(**params)
    _geometry("folk", resolution, channels)
    music21 = require("music21")
    found = _folk_candidates(music21)
    ordered = _order([c for c in found if c[3]], config.count, config.seed, "folk")
    ordered += _order([c for c in found if not c[3]], config.count, config.seed, "folk")
    candidates = [
        (name, lambda path=path, number=number: _parse_folk(path, number))
        for name, path, number, _chords in ordered
    ]
    pieces = _collect("folk", candidates, config.count)
    if not pieces:
        raise ArtkitError("folk dataset: music21's corpus gave no usable folk tune")
    return PianoRolls(
        kind="folk",
        pieces=pieces,
        resolution=resolution,
        channels=channels,
        low=config.low,
        hop=config.hop,
        min_active=config.min_active,
        spec={"count": config.count, "seed": config.seed, "music21": str(music21.__version__)},
    )


# --------------------------------------------------------------------------- MIDI folders


def _midi_files(root: Path, recursive: bool) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    walker = root.rglob("*") if recursive else root.glob("*")
    for path in walker:
        if path.suffix.lower() in MIDI_SUFFIXES and not path.name.startswith("."):
            with contextlib.suppress(OSError):
                if path.is_file():
                    yield path


def midi_folder(*, resolution: Any, channels: int, **params: Any) -> PianoRolls:
    """Your MIDI files as piano rolls (``midi:path=DIR``), one track per channel asked for.

    Each file's voices (MIDI track and channel pairs) become the tracks in file
    order when there are few enough; otherwise drums are left out and the voices
    are split into bands by mean pitch, highest first (see
    :func:`artkit_music.roll.midi_to_piece`). Files that cannot be read (corrupt,
    over the size caps, not MIDI) are skipped and listed in ``skipped``.
    """
    config = MidiFolderConfig(**params)
    steps, pitches = _geometry("midi", resolution, channels)
    root = Path(config.path).expanduser()
    if not root.exists():
        raise UsageError(f"midi dataset: {config.path!r} does not exist")
    files = sorted(_midi_files(root, config.recursive))
    if len(files) > MAX_MIDI_FILES:
        raise UsageError(
            f"midi dataset: more than {MAX_MIDI_FILES:,} MIDI files in {config.path!r}"
        )
    if not files:
        raise UsageError(
            f"midi dataset: no MIDI files ({', '.join(MIDI_SUFFIXES)}) in {config.path!r}"
        )
    skipped: list[tuple[str, str]] = []
    stamps = []
    for path in files:
        rel = str(path.relative_to(root)) if path != root else path.name
        try:
            st = path.stat()
        except OSError as exc:
            skipped.append((rel, exc.strerror or type(exc).__name__))
            continue
        stamps.append((rel, st.st_size, st.st_mtime_ns))
    spec = {
        "path": os.path.abspath(root),
        "recursive": config.recursive,
        "files": stamps,
        "read": MIDI_READ_VERSION,
    }
    params_key = {**spec, "low": config.low, "hop": config.hop, "min_active": config.min_active}
    key = hashlib.sha256(
        json.dumps({**params_key, "window": WINDOW_VERSION}, sort_keys=True).encode()
    ).hexdigest()[:16]

    def build() -> tuple[Any, dict[str, Any]]:
        pieces, bad = [], []
        for rel, _size, _mtime in stamps:
            try:
                piece = midi_to_piece(
                    root / rel if root.is_dir() else root,
                    tracks=channels,
                    low=config.low,
                    pitches=pitches,
                )
            except OSError as exc:
                bad.append((rel, exc.strerror or type(exc).__name__))
                continue
            except ArtkitError as exc:
                bad.append((rel, str(exc)))
                continue
            pieces.append((rel, _rows_of(piece)))
        if not pieces:
            why = bad[0][1] if bad else "no notes"
            raise UsageError(f"midi dataset: none of the {len(files)} MIDI files is usable ({why})")
        images, labels = cut_windows(
            "midi", pieces, steps, pitches, channels, config.low, config.hop, config.min_active
        )
        meta = {"pieces": [n for n, _ in pieces], "labels": labels, "skipped": bad}
        return images, meta

    images, meta, _hit = dataset_cache.cached("midi", key, resolution, channels, build)
    try:
        pieces_named = [str(n) for n in meta["pieces"]]
        labels = [str(n) for n in meta["labels"]]
        skipped += [(str(a), str(b)) for a, b in meta["skipped"]]
        if len(labels) != len(images):
            raise ValueError("labels")
    except (KeyError, TypeError, ValueError):  # an old or odd cache entry: names unknown
        pieces_named, labels = [], [f"window {i}" for i in range(len(images))]
    return PianoRolls(
        kind="midi",
        pieces=[],
        resolution=resolution,
        channels=channels,
        low=config.low,
        hop=config.hop,
        min_active=config.min_active,
        spec={**spec, "_skipped": skipped},
        prebuilt=(images, labels, pieces_named),
    )


def _rows_of(piece: Any) -> Any:
    """The piece's notes as ``(track, start, end, pitch)`` rows."""
    import numpy as np

    return np.array(piece.notes(), dtype=np.int64).reshape(-1, 4)
