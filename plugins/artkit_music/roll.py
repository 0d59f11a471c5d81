"""The piano roll: the one representation of music that datasets, models and MIDI files share.

A :class:`Piece` is a boolean array ``(tracks, time steps, pitches)`` on a 4/4 grid
of sixteenth notes (:data:`STEPS_PER_BAR` = 16): ``roll[k, t, p]`` is True when
track ``k`` sounds MIDI note ``low + p`` during step ``t``. A binary roll has no
note onsets, so adjacent steps of one pitch in one track are one held note -- the
rule :func:`piece_to_midi` writes and :func:`midi_to_piece` reads back, which makes
the round trip exact.

Datasets hand out the same roll as a uint8 picture ``(time, pitches, tracks)``
(:func:`to_array`, 255 = sounding), models produce ``(tracks, time, pitches)`` in
[-1, 1] (:func:`from_tensor`, > 0 = sounding), and :func:`roll_png` draws a
readable picture of any piece. MIDI files come from other people: reading one is
capped in bytes, notes and length, and anything wrong is a one-line ArtkitError.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.atomic import atomic_open
from artkit.errors import ArtkitError, UsageError

from .deps import require

#: sixteenth-note grid in 4/4
STEPS_PER_BEAT = 4
STEPS_PER_BAR = 16
#: MIDI number of row 0 (C2) and the number of rows (C2..B5)
DEFAULT_LOW = 36
DEFAULT_PITCHES = 48
#: beats per minute
DEFAULT_TEMPO = 100.0
#: MIDI resolution of files artkit writes (120 ticks a step)
TICKS_PER_BEAT = 480
#: what a MIDI file may weigh, how many notes and steps it may have, before we refuse it
MAX_MIDI_BYTES = 4 << 20
MAX_NOTES = 200_000
MAX_STEPS = 1 << 15
MAX_TRACKS = 64
#: the text meta events that carry provenance start with this
META_PREFIX = "artkit:"
#: GM drum channel (channel 10, counted from 1)
DRUM_CHANNEL = 9
#: GM programs used when none are given: choir, strings, cello, contrabass, then repeats
DEFAULT_PROGRAMS = (52, 48, 42, 43)
VELOCITY = 90

#: one colour per track on the dark ground (bright, well apart in hue)
TRACK_COLOURS = (
    (255, 196, 64),  # amber
    (64, 200, 255),  # sky
    (255, 96, 128),  # rose
    (120, 232, 120),  # green
    (200, 140, 255),  # violet
    (255, 150, 70),  # orange
    (80, 240, 220),  # teal
    (240, 240, 240),  # white
)
_GROUND = (16, 17, 24)
_BAR_LINE = (58, 60, 78)
_BEAT_LINE = (30, 32, 44)
_OCTAVE_LINE = (40, 42, 56)


def default_programs(tracks: int) -> tuple[int, ...]:
    return tuple(DEFAULT_PROGRAMS[k % len(DEFAULT_PROGRAMS)] for k in range(tracks))


def default_names(tracks: int) -> tuple[str, ...]:
    return tuple(f"track {k + 1}" for k in range(tracks))


@dataclass
class Piece:
    """A multi-track binary piano roll and how to play it."""

    #: bool ``(tracks, time steps, pitches)``
    roll: Any
    low: int = DEFAULT_LOW
    tempo: float = DEFAULT_TEMPO
    programs: tuple[int, ...] = field(default=())
    names: tuple[str, ...] = field(default=())
    drums: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        import numpy as np

        roll = np.asarray(self.roll)
        if roll.ndim != 3:
            raise UsageError(f"a piano roll is (tracks, steps, pitches), got shape {roll.shape}")
        self.roll = roll.astype(bool, copy=False)
        n = roll.shape[0]
        self.low = int(self.low)
        self.tempo = float(self.tempo)
        self.programs = _fit(tuple(int(p) for p in self.programs), default_programs(n))
        self.names = _fit(tuple(str(s) for s in self.names), default_names(n))
        self.drums = _fit(tuple(bool(d) for d in self.drums), (False,) * n)
        if not 0 <= self.low <= 127:
            raise UsageError(f"low={self.low} must be a MIDI note number from 0 to 127")
        if not (math.isfinite(self.tempo) and 1.0 <= self.tempo <= 1000.0):
            raise UsageError(f"tempo={self.tempo} must be between 1 and 1000 beats per minute")
        if any(not 0 <= p <= 127 for p in self.programs):
            raise UsageError(f"programs {self.programs} must be GM programs from 0 to 127")

    @property
    def tracks(self) -> int:
        return int(self.roll.shape[0])

    @property
    def steps(self) -> int:
        return int(self.roll.shape[1])

    @property
    def pitches(self) -> int:
        return int(self.roll.shape[2])

    def seconds(self) -> float:
        """How long the piece plays."""
        return self.steps * 60.0 / (self.tempo * STEPS_PER_BEAT)

    def notes(self) -> list[tuple[int, int, int, int]]:
        """``(track, start step, end step, MIDI pitch)`` of every held note, in time order."""
        import numpy as np

        out = []
        for k in range(self.tracks):
            r = self.roll[k]
            pad = np.zeros((1, r.shape[1]), bool)
            edges = np.diff(np.concatenate([pad, r, pad]).astype(np.int8), axis=0)
            starts = np.argwhere(edges == 1)  # (t, p)
            ends = np.argwhere(edges.T == -1)  # (p, t) sorted by pitch then time
            ends_by_pitch: dict[int, list[int]] = {}
            for p, t in ends.tolist():
                ends_by_pitch.setdefault(p, []).append(t)
            seen: dict[int, int] = {}
            for t, p in starts.tolist():
                i = seen.get(p, 0)
                seen[p] = i + 1
                out.append((k, t, ends_by_pitch[p][i], self.low + p))
        out.sort(key=lambda n: (n[1], n[0], n[3]))
        return out


def _fit(values: tuple, defaults: tuple) -> tuple:
    """``values`` cut or completed from ``defaults`` to the number of tracks."""
    n = len(defaults)
    return tuple(values[:n]) + tuple(defaults[len(values) :])


# --------------------------------------------------------------------------- conversions


def to_array(piece: Piece) -> Any:
    """The roll as a dataset picture: uint8 ``(steps, pitches, tracks)``, 255 = sounding."""
    import numpy as np

    return np.ascontiguousarray(piece.roll.transpose(1, 2, 0)).astype(np.uint8) * np.uint8(255)


def from_array(array: Any, low: int = DEFAULT_LOW, **kwargs: Any) -> Piece:
    """A dataset picture ``(steps, pitches, tracks)`` (uint8, > 127 = sounding) as a Piece."""
    import numpy as np

    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    return Piece(a.transpose(2, 0, 1) > 127, low=low, **kwargs)


def from_tensor(
    x: Any,
    low: int = DEFAULT_LOW,
    tempo: float = DEFAULT_TEMPO,
    programs: Sequence[int] = (),
    names: Sequence[str] = (),
    drums: Sequence[bool] = (),
) -> Piece:
    """Model output ``(tracks, steps, pitches)`` in [-1, 1] (a tensor or array) as a Piece (> 0 sounds)."""
    import numpy as np

    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x)
    if a.ndim == 2:
        a = a[None]
    return Piece(
        a > 0,
        low=low,
        tempo=tempo,
        programs=tuple(programs),
        names=tuple(names),
        drums=tuple(drums),
    )


def fold_pitch(pitch: int, low: int, pitches: int) -> int | None:
    """``pitch`` moved by whole octaves into ``[low, low + pitches)``; None when no octave fits."""
    top = low + pitches
    if low <= pitch < top:
        return pitch
    if pitch < low:
        pitch += 12 * math.ceil((low - pitch) / 12)
    else:
        pitch -= 12 * math.ceil((pitch - top + 1) / 12)
    return pitch if low <= pitch < top else None


def notes_to_roll(notes: Any, tracks: int, steps: int, low: int, pitches: int) -> Any:
    """Bool roll ``(tracks, steps, pitches)`` from int rows ``(track, start, end, pitch)``.

    Pitches outside the window are folded by octaves (dropped when the window is
    narrower than an octave and none fits); tracks outside ``[0, tracks)`` and
    steps past ``steps`` are dropped.
    """
    import numpy as np

    roll = np.zeros((tracks, steps, pitches), dtype=bool)
    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
    if len(arr) == 0:
        return roll
    k, s, e, p = arr.T
    rel = p - low
    if pitches >= 12:
        rel = np.where(rel < 0, rel + 12 * ((-rel + 11) // 12), rel)
        over = rel - (pitches - 1)
        rel = np.where(over > 0, rel - 12 * ((over + 11) // 12), rel)
    else:
        rel = np.array(
            [(-1 if (q := fold_pitch(int(v), low, pitches)) is None else q - low) for v in p]
        )
    keep = (k >= 0) & (k < tracks) & (rel >= 0) & (rel < pitches) & (s < steps)
    for kk, ss, ee, pp in zip(k[keep], s[keep], np.minimum(e[keep], steps), rel[keep], strict=True):
        roll[kk, ss:ee, pp] = True
    return roll


# --------------------------------------------------------------------------- MIDI writing


def _channels_for(piece: Piece) -> list[int]:
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    out, i = [], 0
    for drum in piece.drums:
        if drum:
            out.append(DRUM_CHANNEL)
        else:
            out.append(melodic[i % len(melodic)])
            i += 1
    return out


def midi_bytes(piece: Piece, meta_text: str | None = None) -> bytes:
    """The piece as a type-1 Standard MIDI File (bytes); see :func:`piece_to_midi`."""
    mido = require("mido")
    ticks = TICKS_PER_BEAT // STEPS_PER_BEAT
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    head = mido.MidiTrack()
    head.append(mido.MetaMessage("track_name", name="artkit", time=0))
    head.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(piece.tempo), time=0))
    head.append(
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)
    )  # the grid's metre
    if meta_text is not None:
        head.append(mido.MetaMessage("text", text=meta_text, time=0))
    head.append(mido.MetaMessage("end_of_track", time=piece.steps * ticks))
    mid.tracks.append(head)
    notes = piece.notes()
    for k, channel in enumerate(_channels_for(piece)):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=_latin1(piece.names[k]), time=0))
        track.append(
            mido.Message("program_change", channel=channel, program=piece.programs[k], time=0)
        )
        events = []  # (tick, order: offs first, message)
        velocity = 100 if piece.drums[k] else VELOCITY
        for kk, start, end, pitch in notes:
            if kk != k:
                continue
            events.append((start * ticks, 1, "note_on", pitch, velocity))
            events.append((end * ticks, 0, "note_off", pitch, 0))
        events.sort()
        now = 0
        for tick, _order, kind, pitch, vel in events:
            track.append(
                mido.Message(kind, channel=channel, note=pitch, velocity=vel, time=tick - now)
            )
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=max(0, piece.steps * ticks - now)))
        mid.tracks.append(track)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def _latin1(text: str) -> str:
    """MIDI meta text is bytes; mido encodes it as latin-1, so keep to that."""
    return text.encode("latin-1", "replace").decode("latin-1")


def piece_to_midi(
    piece: Piece,
    path: str | os.PathLike[str],
    meta_text: str | None = None,
    *,
    durable: bool = True,
) -> Path:
    """Write ``piece`` as a type-1 MIDI file, atomically; returns the path.

    Track 0 holds the tempo, a 4/4 time signature and ``meta_text`` (a text meta
    event, e.g. ``"artkit:" + provenance JSON``); then one MIDI track per roll
    track, named, with its GM program on its own channel (drum tracks on channel 10).
    """
    if meta_text is not None and not meta_text.isascii():
        raise UsageError("MIDI meta text must be ASCII (write JSON with ensure_ascii)")
    data = midi_bytes(piece, meta_text)
    target = Path(path)
    try:
        with atomic_open(target, durable=durable) as fh:
            fh.write(data)
    except OSError as exc:
        raise ArtkitError(
            f"cannot write MIDI file {str(target)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    return target


# --------------------------------------------------------------------------- MIDI reading


def read_midi_file(path: str | os.PathLike[str], max_bytes: int = MAX_MIDI_BYTES) -> Any:
    """Parse a MIDI file (size-capped) with mido; any failure is a one-line ArtkitError."""
    mido = require("mido")
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        if size > max_bytes:
            raise ArtkitError(
                f"MIDI file {name!r} is {size:,} bytes, more than the {max_bytes:,} allowed"
            )
        with open(name, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ArtkitError(f"cannot read MIDI file {name!r}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ArtkitError(f"MIDI file {name!r} is more than the {max_bytes:,} bytes allowed")
    if not data.startswith(b"MThd"):
        raise ArtkitError(f"{name!r} is not a MIDI file (no MThd header)")
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError...
        why = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise ArtkitError(f"MIDI file {name!r} is corrupt: {why}") from None


def midi_texts(mid: Any) -> list[str]:
    """Every text meta event of a parsed MIDI file, track 0 first."""
    return [
        m.text
        for track in mid.tracks
        for m in track
        if m.is_meta and m.type == "text" and isinstance(m.text, str)
    ]


@dataclass
class _Group:
    """The notes of one (MIDI track, channel) pair: a voice of the file."""

    notes: list[tuple[int, int, int]] = field(default_factory=list)  # (start tick, end tick, pitch)
    program: int | None = None
    name: str = ""
    drums: bool = False


def _groups(mid: Any, name: str) -> tuple[list[_Group], list[_Group], int, float]:
    """(every voice with notes or a program, those with notes, length in ticks, tempo)."""
    groups: dict[tuple[int, int], _Group] = {}
    total = 0
    count = 0
    tempo: float | None = None
    for ti, track in enumerate(mid.tracks):
        now = 0
        track_name = ""
        held: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            now += msg.time
            if msg.is_meta:
                if msg.type == "track_name" and not track_name:
                    track_name = str(msg.name)[:64]
                elif msg.type == "set_tempo" and tempo is None:
                    tempo = 60_000_000 / msg.tempo if msg.tempo > 0 else None
                continue
            kind = msg.type
            if kind not in ("note_on", "note_off", "program_change"):
                continue
            g = groups.get((ti, msg.channel))
            if g is None:
                g = groups[(ti, msg.channel)] = _Group(drums=msg.channel == DRUM_CHANNEL)
            if kind == "program_change":
                if g.program is None:
                    g.program = msg.program
                continue
            key = (msg.channel, msg.note)
            if kind == "note_on" and msg.velocity > 0:
                held.setdefault(key, []).append(now)
            elif held.get(key):
                start = held[key].pop(0)
                g.notes.append((start, now, msg.note))
                count += 1
            if count > MAX_NOTES:
                raise ArtkitError(f"MIDI file {name!r} has more than {MAX_NOTES:,} notes")
        for (channel, note), starts in held.items():  # never released: held to the end
            g = groups[(ti, channel)]
            g.notes.extend((s, now, note) for s in starts)
        total = max(total, now)
        for (gt, _c), g in groups.items():
            if gt == ti and not g.name:
                g.name = track_name
    every = [g for _key, g in sorted(groups.items())]
    return every, [g for g in every if g.notes], total, tempo or DEFAULT_TEMPO


def midi_to_piece(
    path: str | os.PathLike[str],
    tracks: int | None = None,
    low: int | None = DEFAULT_LOW,
    pitches: int | None = DEFAULT_PITCHES,
    max_bytes: int = MAX_MIDI_BYTES,
) -> Piece:
    """Read a MIDI file as a Piece on the sixteenth grid.

    Voices are (MIDI track, channel) pairs. With ``tracks`` voices or fewer (counting
    those with only a program change, as artkit's own empty tracks are) each voice is
    a track, in file order, so a file :func:`piece_to_midi` wrote comes back exactly.
    With more voices than tracks, drum voices are left out and the melodic ones
    are split by mean pitch into ``tracks`` bands, highest first. ``tracks=None``:
    one track per voice. ``low``/``pitches`` None: the window that holds every note
    (whole octaves); otherwise notes outside are folded by octaves into it.
    """
    import numpy as np

    name = os.fspath(path)
    mid = read_midi_file(path, max_bytes)
    if mid.type == 2:
        raise ArtkitError(f"MIDI file {name!r} is type 2 (independent sequences), not supported")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise ArtkitError(f"MIDI file {name!r} has no ticks-per-beat (SMPTE time is not supported)")
    every, voiced, total, tempo = _groups(mid, name)
    if tracks is None:
        tracks = max(1, len(voiced))
    if not 1 <= tracks <= MAX_TRACKS:
        raise UsageError(f"tracks={tracks} must be from 1 to {MAX_TRACKS}")
    if len(every) <= tracks:
        assignment = [(g, k) for k, g in enumerate(every)]
    elif len(voiced) <= tracks:
        assignment = [(g, k) for k, g in enumerate(voiced)]
    else:
        melodic = [g for g in voiced if not g.drums] or voiced
        ranked = sorted(melodic, key=lambda g: -sum(n[2] for n in g.notes) / len(g.notes))
        assignment = [(g, i * tracks // len(ranked)) for i, g in enumerate(ranked)]

    def step(tick: int) -> int:
        return round(tick * STEPS_PER_BEAT / tpb)

    steps = math.ceil(total * STEPS_PER_BEAT / tpb - 1e-9)
    rows = []
    for g, k in assignment:
        for start, end, pitch in g.notes:
            s, e = step(start), step(end)
            rows.append((k, s, max(e, s + 1), pitch))
    steps = max([steps, 1] + [r[2] for r in rows])
    if steps > MAX_STEPS:
        raise ArtkitError(
            f"MIDI file {name!r} is {steps:,} sixteenth steps long, more than the {MAX_STEPS:,} allowed"
        )
    if low is None or pitches is None:
        played = [r[3] for r in rows] or [60]
        lo = 12 * (min(played) // 12)
        hi = 12 * (max(played) // 12 + 1)
        low, pitches = (lo, hi - lo) if low is None else (low, max(1, hi - low))
    roll = notes_to_roll(np.array(rows, np.int64).reshape(-1, 4), tracks, steps, low, pitches)
    firsts: dict[int, _Group] = {}
    for g, k in assignment:
        firsts.setdefault(k, g)
    defaults = default_programs(tracks)
    programs = tuple(
        (firsts[k].program if k in firsts and firsts[k].program is not None else defaults[k])
        for k in range(tracks)
    )
    names = tuple(
        (firsts[k].name if k in firsts and firsts[k].name else f"track {k + 1}")
        for k in range(tracks)
    )
    drums = tuple(bool(k in firsts and firsts[k].drums) for k in range(tracks))
    return Piece(roll, low=low, tempo=round(tempo, 2), programs=programs, names=names, drums=drums)


def read_meta(path: str | os.PathLike[str], max_bytes: int = MAX_MIDI_BYTES) -> dict | None:
    """The ``artkit:`` JSON text event of a MIDI file (provenance), or None when it has none."""
    mid = read_midi_file(path, max_bytes)
    for text in midi_texts(mid):
        if text.startswith(META_PREFIX):
            try:
                value = json.loads(text[len(META_PREFIX) :])
            except (ValueError, RecursionError):
                raise ArtkitError(
                    f"MIDI file {os.fspath(path)!r} has corrupt artkit provenance (not JSON)"
                ) from None
            if not isinstance(value, dict):
                raise ArtkitError(
                    f"MIDI file {os.fspath(path)!r} has corrupt artkit provenance (not an object)"
                )
            return value
    return None


# --------------------------------------------------------------------------- pictures


def roll_png(piece: Piece, *, max_width: int = 4096) -> Any:
    """A readable RGB picture of the piece: time left to right, pitch bottom to top.

    Each step is at least 4 px wide and each pitch at least 3 px tall; each track has
    its own colour on a dark ground (overlaps mix), every note starts with a darker
    edge so repeated notes stay apart, bar lines (and fainter beats) run down and a
    faint line marks each C. A piece wider than ``max_width`` at 4 px a step is
    drawn up to there (its first bars).
    """
    import numpy as np
    from PIL import Image

    if piece.steps * 4 > max_width:  # a long piece: its beginning, at a readable scale
        keep = max(STEPS_PER_BAR, max_width // 4 // STEPS_PER_BAR * STEPS_PER_BAR)
        piece = Piece(piece.roll[:, :keep], low=piece.low)
    tracks, steps, pitches = piece.roll.shape
    steps = max(steps, 1)
    sx = int(min(16, max(4, 512 // steps)))
    sy = int(min(12, max(3, 256 // max(pitches, 1))))
    h, w = max(pitches, 1) * sy, steps * sx
    img = np.empty((h, w, 3), np.float32)
    img[:] = _GROUND
    for t in range(0, steps, STEPS_PER_BEAT):
        img[:, t * sx] = _BAR_LINE if t % STEPS_PER_BAR == 0 else _BEAT_LINE
    for p in range(pitches):
        if (piece.low + p) % 12 == 0:
            img[h - 1 - p * sy] = _OCTAVE_LINE  # bottom row of the C's band
    if tracks and piece.roll.shape[1]:
        total = np.zeros((pitches, steps, 3), np.float32)
        count = np.zeros((pitches, steps), np.float32)
        onsets = np.zeros((pitches, steps), bool)
        for k in range(tracks):
            r = piece.roll[k].T[::-1]  # (pitches, steps), high pitches first
            colour = np.array(TRACK_COLOURS[k % len(TRACK_COLOURS)], np.float32)
            if k >= len(TRACK_COLOURS):  # beyond the palette: darker repeats
                colour *= 0.65
            total += r[:, :, None] * colour
            count += r
            onsets |= r & ~np.concatenate([np.zeros((pitches, 1), bool), r[:, :-1]], axis=1)
        on = count > 0
        mixed = total / np.maximum(count, 1)[:, :, None]
        cells = np.repeat(np.repeat(mixed, sy, axis=0), sx, axis=1)
        mask = np.repeat(np.repeat(on, sy, axis=0), sx, axis=1)
        if sy >= 3:  # a one-pixel gap between pitch rows
            mask[sy - 1 :: sy] = False
        img[mask] = cells[mask]
        edge = np.zeros_like(mask)
        edge[:, ::sx] = np.repeat(np.repeat(onsets, sy, axis=0), sx, axis=1)[:, ::sx]
        edge &= mask
        img[edge] *= 0.55
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


# --------------------------------------------------------------------------- test files


def _tiny_tunes() -> list[tuple[str, int, list[tuple[int, int, list[tuple[int, int, int]]]]]]:
    """(file name, MIDI type, [(channel, program, [(start step, length, pitch)])])."""
    # a C major chorale-like phrase, four voices, I-IV-V-I twice
    chords = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48)]
    chords += [(76, 72, 67, 52), (77, 72, 69, 53), (74, 71, 67, 43), (72, 67, 64, 48)]
    voices: list[list[tuple[int, int, int]]] = [[], [], [], []]
    for i, chord in enumerate(chords):
        for v, pitch in enumerate(chord):
            voices[v].append((i * 8, 8, pitch))
    chorale = [(v, prog, voices[v]) for v, prog in enumerate((52, 52, 52, 52))]
    # a folk-like melody over a bass line, with a backbeat on the drum channel
    melody = [67, 69, 71, 72, 74, 72, 71, 69, 67, 64, 62, 64, 67, 67, 67, 0]
    tune = [(i * 4, 4 if p != 67 else 3, p) for i, p in enumerate(melody) if p]
    tune += [(64 + i * 2, 2, p) for i, p in enumerate([72, 71, 69, 67, 65, 64, 62, 60] * 2)]
    bass = [(i * 8, 6, p) for i, p in enumerate([43, 48, 43, 50, 43, 48, 43, 48] * 2)]
    drums = [(i * 4, 1, 36 if i % 2 == 0 else 38) for i in range(32)]
    band = [(0, 73, tune), (1, 32, bass), (DRUM_CHANNEL, 0, drums)]
    # a waltz-ish arpeggio figure in one track (type 0), two channels
    arps = []
    for bar, root in enumerate([60, 65, 67, 60, 57, 62, 67, 60]):
        for j, off in enumerate((0, 4, 7, 12)):
            arps.append((bar * 16 + j * 4, 4, root + off))
    low = [(bar * 16, 16, root - 24) for bar, root in enumerate([60, 65, 67, 60, 57, 62, 67, 60])]
    return [
        ("chorale.mid", 1, chorale),
        ("band.mid", 1, band),
        ("arpeggios.mid", 0, [(0, 0, arps), (2, 33, low)]),
    ]


def write_tiny_midi_folder(folder: str | os.PathLike[str]) -> Path:
    """Write a few short, real-looking MIDI files (type 0 and 1, drums) into ``folder``; return it."""
    mido = require("mido")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ticks = 96 // STEPS_PER_BEAT  # another resolution than artkit's own files
    for fname, kind, parts in _tiny_tunes():
        mid = mido.MidiFile(type=kind, ticks_per_beat=96)
        head = mido.MidiTrack()
        head.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96), time=0))
        head.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
        events: list[tuple[int, int, Any]] = []
        for channel, program, notes in parts:
            if kind == 1:
                events = []
            events.append((0, 0, mido.Message("program_change", channel=channel, program=program)))
            for start, length, pitch in notes:
                on = mido.Message("note_on", channel=channel, note=pitch, velocity=80)
                off = mido.Message("note_on", channel=channel, note=pitch, velocity=0)
                events.append((start * ticks, 2, on))
                events.append(((start + length) * ticks, 1, off))
            if kind == 1:
                mid.tracks.append(_timed(mido, sorted(events, key=lambda e: e[:2]), f"ch{channel}"))
        if kind == 0:
            merged = _timed(mido, sorted(events, key=lambda e: e[:2]), "")
            mid.tracks.append(mido.MidiTrack(list(head) + list(merged)))
        else:
            head.append(mido.MetaMessage("end_of_track", time=0))
            mid.tracks.insert(0, head)
        buffer = io.BytesIO()
        mid.save(file=buffer)
        with atomic_open(out / fname, durable=False) as fh:
            fh.write(buffer.getvalue())
    return out


def _timed(mido: Any, events: list[tuple[int, int, Any]], name: str) -> Any:
    track = mido.MidiTrack()
    if name:
        track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, _order, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
