"""The ``midi`` medium: what a music model's samples become on disk.

Each sample is a Standard MIDI File (``.mid``) whose first track carries the
provenance as a text meta event (``artkit:`` + canonical JSON), with a piano-roll
``.png`` of the same name beside it (also carrying the provenance, so ``artkit
info`` works on either) and, with ``audio=True`` (``--audio``), a ``.wav``
(:mod:`artkit_music.audio`). Files are written atomically and replace a file of
the same name that artkit wrote; one it did not write (your own ``take.png`` or
``take.wav`` beside a ``take.mid``) is a one-line error and nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from artkit.errors import ArtkitError, UsageError

from .roll import (
    DEFAULT_LOW,
    DEFAULT_TEMPO,
    META_PREFIX,
    Piece,
    from_array,
    from_tensor,
    midi_to_piece,
    piece_to_midi,
    read_meta,
    roll_png,
)

#: biggest provenance written into a MIDI file
MAX_PROVENANCE_BYTES = 1 << 20


def _programs(value: Any) -> tuple[int, ...]:
    """GM programs from a tuple or a ``"52,48,42"`` / ``"52/48"`` string."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [p for p in value.replace("/", ",").replace("+", ",").split(",") if p.strip()]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise UsageError(f"programs={value!r} must be GM program numbers like 52,48") from None
    return tuple(int(p) for p in value)


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.replace("/", ",").split(",") if p.strip())
    return tuple(str(p) for p in value)


def _canonical(provenance: dict[str, Any]) -> str:
    return json.dumps(
        provenance, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    )


def refuse_foreign(target: Path, *, audio: bool) -> None:
    """A UsageError when the ``.mid``, ``.png`` or (with ``audio``) ``.wav`` that saving
    ``target`` writes exists and was not written by artkit (checked before any is written)."""
    from artkit.images import read_provenance

    from .audio import written_by_artkit

    def ours(path: Path) -> bool:
        try:
            if path.suffix == ".png":
                return read_provenance(path) is not None
            if path.suffix == ".wav":
                return written_by_artkit(path)
            return read_meta(path) is not None
        except Exception:  # unreadable: not something artkit wrote
            return False

    for path in [target, *MidiMedium.companions(target, audio=audio)]:
        if (path.exists() or path.is_symlink()) and not ours(path):
            raise UsageError(
                f"{path} exists and was not written by artkit; remove it or choose another out"
            )


class MidiMedium:
    """Standard MIDI files with a piano-roll PNG beside each (and a WAV with ``audio=True``)."""

    name = "midi"
    suffixes = (".mid", ".midi")
    #: what `artkit eval --features auto` scores these files with
    eval_features = "pianoroll"

    @staticmethod
    def evaluate(fake: Any, ref: Any) -> list[dict[str, Any]]:
        """MuseGAN's objective measures of ``fake`` beside the reference's, one row each.

        Both are sequences of uint8 arrays ``(T, P, tracks)`` as :meth:`load_array`
        gives them; rows carry ``name``, ``reference``, ``samples`` and ``|diff|``.
        """
        import numpy as np

        from artkit_music.metrics import compare, measures
        from artkit_music.roll import DEFAULT_LOW

        def rolls(arrays: Any) -> list[Any]:
            return [np.moveaxis(np.asarray(a) > 127, -1, 0) for a in arrays]

        rows = compare(
            measures(rolls(fake), low=DEFAULT_LOW), measures(rolls(ref), low=DEFAULT_LOW)
        )
        return [
            {
                "name": r["measure"],
                "reference": r["real"],
                "samples": r["fake"],
                "|diff|": r["fake_diff"],
            }
            for r in rows
        ]

    @staticmethod
    def to_items(batch: Any, *, model: Any = None) -> list[Piece]:
        """Model output ``(N, tracks, T, P)`` in [-1, 1] as Pieces (> 0 sounds).

        The model's config, when given, says the lowest pitch, tempo, GM programs,
        track names and drum tracks (``low``, ``tempo``, ``programs``, ``names``, ``drums``).
        """
        config = getattr(model, "config", None)
        low = int(getattr(config, "low", DEFAULT_LOW))
        tempo = float(getattr(config, "tempo", DEFAULT_TEMPO))
        programs = _programs(getattr(config, "programs", None))
        names = _names(getattr(config, "names", None))
        drums_value = getattr(config, "drums", None)
        drums = tuple(bool(d) for d in drums_value) if isinstance(drums_value, tuple | list) else ()
        if getattr(batch, "ndim", 4) == 3:
            batch = batch[None]
        return [
            from_tensor(x, low=low, tempo=tempo, programs=programs, names=names, drums=drums)
            for x in batch
        ]

    @staticmethod
    def save(
        item: Any,
        path: str | os.PathLike[str],
        provenance: dict[str, Any] | None = None,
        *,
        audio: bool = False,
        durable: bool = True,
        **_: Any,
    ) -> Path:
        """Write ``stem.mid`` (provenance inside), ``stem.png`` and with ``audio`` ``stem.wav``."""
        from artkit.images import save_image

        piece = item if isinstance(item, Piece) else from_array(item)
        target = Path(path)
        if target.suffix.lower() not in MidiMedium.suffixes:
            target = target.with_suffix(".mid")
        # every file carries artkit's mark, so that the next save knows it may replace it
        provenance = {} if provenance is None else provenance
        refuse_foreign(target, audio=audio)
        meta = META_PREFIX + _canonical(provenance)
        if len(meta) > MAX_PROVENANCE_BYTES:
            raise ArtkitError(
                f"cannot write {str(target)!r}: provenance is {len(meta):,} bytes, "
                f"more than {MAX_PROVENANCE_BYTES:,}"
            )
        save_image(
            roll_png(piece), target.with_suffix(".png"), provenance=provenance, durable=durable
        )
        if audio:
            from .audio import render_wav

            render_wav(piece, target.with_suffix(".wav"), durable=durable)
        # the .mid last: a file killed half-way leaves no .mid, so a resumed render
        # (which skips a .mid with its provenance) writes the whole set again
        piece_to_midi(piece, target, meta, durable=durable)
        return target

    @staticmethod
    def companions(path: str | os.PathLike[str], *, audio: bool = False) -> list[Path]:
        """The files :meth:`save` writes beside ``path``: its ``.png``, and ``.wav`` with ``audio``."""
        target = Path(path)
        return [target.with_suffix(".png")] + ([target.with_suffix(".wav")] if audio else [])

    @staticmethod
    def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
        """The provenance a MIDI file carries, or None (a corrupt file is a one-line ArtkitError)."""
        return read_meta(path)

    @staticmethod
    def load_array(
        path: str | os.PathLike[str], tracks: int, resolution: Any, *, low: int = DEFAULT_LOW
    ) -> Any:
        """A MIDI file's first ``T`` steps as a dataset picture: uint8 ``(T, P, tracks)``."""
        import numpy as np

        from artkit.config_checks import image_size

        steps, pitches = image_size(resolution)
        piece = midi_to_piece(path, tracks=tracks, low=low, pitches=pitches)
        roll = piece.roll[:, :steps]
        if roll.shape[1] < steps:
            roll = np.pad(roll, ((0, 0), (0, steps - roll.shape[1]), (0, 0)))
        return np.ascontiguousarray(roll.transpose(1, 2, 0)).astype(np.uint8) * np.uint8(255)

    @staticmethod
    def join(items: list[Any]) -> Piece:
        """The pieces one after another (a medley); tracks and pitch rows follow the first."""
        import numpy as np

        pieces = [i if isinstance(i, Piece) else from_array(i) for i in items]
        if not pieces:
            raise UsageError("nothing to join")
        first = pieces[0]
        parts = []
        for p in pieces:
            roll = np.zeros((first.tracks, p.steps, first.pitches), bool)
            shift = p.low - first.low  # row r of p is row r + shift of the first
            src_lo, src_hi = max(0, -shift), min(p.pitches, first.pitches - shift)
            k = min(first.tracks, p.tracks)
            if src_hi > src_lo:
                roll[:k, :, src_lo + shift : src_hi + shift] = p.roll[:k, :, src_lo:src_hi]
            parts.append(roll)
        return Piece(
            np.concatenate(parts, axis=1),
            low=first.low,
            tempo=first.tempo,
            programs=first.programs,
            names=first.names,
            drums=first.drums,
        )

    @staticmethod
    def preview(path: str | os.PathLike[str]) -> Any:
        """A piano-roll picture of a MIDI file (PIL RGB), every voice its own colour."""
        return roll_png(midi_to_piece(path, tracks=None, low=None, pitches=None))
