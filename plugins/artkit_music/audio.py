"""Listening to a piece: a WAV file, from FluidSynth when it is installed, else from numpy.

With the ``fluidsynth`` program and a General MIDI SoundFont on the machine (the
``fluidsynth`` asset; ``apt-get install fluidsynth fluid-soundfont-gm``) each track
plays on its GM instrument. Without them -- or with ``ARTKIT_SYSTEM_ASSETS=none`` --
a small additive synthesiser renders it: a few harmonics per note under an ADSR
envelope, one timbre per track, a noise burst per drum hit. Either way the file
is 22050 Hz, 16-bit, mono, written atomically.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

from artkit import assets
from artkit.atomic import atomic_open
from artkit.errors import ArtkitError

from .roll import STEPS_PER_BEAT, Piece, midi_bytes

SAMPLE_RATE = 22050
#: GM SoundFonts looked for, in order
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
)
#: seconds FluidSynth may take for one file
FLUIDSYNTH_TIMEOUT = 120
#: longest piece rendered, in seconds (a WAV of 22050 Hz 16-bit is 2.6 MB a minute)
MAX_SECONDS = 1800.0
#: harmonic amplitudes and (attack, decay, sustain level, release) seconds per track timbre
_TIMBRES = (
    ((1.0, 0.5, 0.3, 0.15, 0.08), (0.03, 0.15, 0.7, 0.12)),  # reedy
    ((1.0, 0.2, 0.05), (0.01, 0.3, 0.4, 0.2)),  # soft, plucked-ish
    ((1.0, 0.0, 0.33, 0.0, 0.2, 0.0, 0.14), (0.02, 0.1, 0.8, 0.1)),  # hollow (odd harmonics)
    ((1.0, 0.7, 0.5, 0.35, 0.25, 0.18), (0.005, 0.25, 0.5, 0.15)),  # bright, string-ish
)


def find_fluidsynth() -> tuple[str, str] | None:
    """``(fluidsynth program, GM SoundFont)`` when both are installed (and not hidden), else None."""
    exe = assets.which("fluidsynth")
    if exe is None:
        return None
    for font in SOUNDFONTS:
        if os.path.isfile(font):
            return exe, font
    return None


def locate_fluidsynth() -> str | None:
    """The ``fluidsynth`` asset's check: where FluidSynth and its SoundFont are, or None."""
    found = find_fluidsynth()
    return None if found is None else f"{found[0]} with {found[1]}"


def render_wav(
    piece: Piece, path: str | os.PathLike[str], *, durable: bool = True, synth: str = "auto"
) -> Path:
    """Write ``piece`` as a 22050 Hz 16-bit mono WAV; ``synth`` = auto, fluidsynth or numpy."""
    if piece.seconds() > MAX_SECONDS:
        raise ArtkitError(
            f"cannot render {piece.seconds():.0f} s of audio (at most {MAX_SECONDS:.0f} s)"
        )
    target = Path(path)
    found = find_fluidsynth() if synth in ("auto", "fluidsynth") else None
    if synth == "fluidsynth" and found is None:
        raise ArtkitError(
            f"{assets.missing('fluidsynth and a GM SoundFont', 'apt-get install fluidsynth fluid-soundfont-gm')}"
        )
    if found is not None:
        data = _fluidsynth(piece, *found)
        if data is not None:
            _write(target, data, durable)
            return target
    _write(target, wav_bytes(synthesise(piece)), durable)
    return target


#: the RIFF INFO "software" entry every WAV artkit writes carries (even length, NUL-padded)
SOFTWARE_TAG = b"artkit\x00\x00"
_ISFT = b"ISFT" + struct.pack("<I", len(SOFTWARE_TAG)) + SOFTWARE_TAG
#: the LIST/INFO chunk appended to every WAV artkit writes; readers skip it
INFO_CHUNK = b"LIST" + struct.pack("<I", 4 + len(_ISFT)) + b"INFO" + _ISFT


def _tagged(data: bytes) -> bytes:
    """The WAV with :data:`INFO_CHUNK` appended and the RIFF size updated."""
    body = data + INFO_CHUNK
    return body[:4] + struct.pack("<I", len(body) - 8) + body[8:]


def written_by_artkit(path: str | os.PathLike[str]) -> bool:
    """Whether the WAV at ``path`` ends with artkit's :data:`INFO_CHUNK` (reads its last bytes only)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size < len(INFO_CHUNK) + 12:
                return False
            fh.seek(size - len(INFO_CHUNK))
            return fh.read() == INFO_CHUNK
    except OSError:
        return False


def _write(target: Path, data: bytes, durable: bool) -> None:
    data = _tagged(data)
    try:
        with atomic_open(target, durable=durable) as fh:
            fh.write(data)
    except OSError as exc:
        raise ArtkitError(
            f"cannot write audio {str(target)!r}: {exc.strerror or type(exc).__name__}"
        ) from None


def _fluidsynth(piece: Piece, exe: str, font: str) -> bytes | None:
    """The WAV FluidSynth renders, or None when it fails (the numpy synth stands in)."""
    with tempfile.TemporaryDirectory(prefix="artkit-fluid-") as tmp:
        mid, out = Path(tmp) / "piece.mid", Path(tmp) / "piece.wav"
        mid.write_bytes(midi_bytes(piece))
        cmd = [exe, "-ni", "-q", "-g", "0.6", "-r", str(SAMPLE_RATE), "-F", str(out)]
        cmd += ["-O", "s16", "-T", "wav", "-o", "synth.audio-channels=1", font, str(mid)]
        try:
            subprocess.run(
                cmd,
                capture_output=True,
                timeout=FLUIDSYNTH_TIMEOUT,
                check=True,
                stdin=subprocess.DEVNULL,
            )
            raw = out.read_bytes()
        except (OSError, subprocess.SubprocessError):
            return None
    return _to_mono(raw)


def _to_mono(raw: bytes) -> bytes | None:
    """FluidSynth writes stereo whatever it is told: mix down to 16-bit mono at our rate."""
    import numpy as np

    try:
        with wave.open(io.BytesIO(raw)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return None
    if width != 2 or rate != SAMPLE_RATE or channels < 1:
        return None
    samples = np.frombuffer(frames, "<i2").reshape(-1, channels).astype(np.float32).mean(axis=1)
    return wav_bytes(samples / 32768.0)


def wav_bytes(samples: Any) -> bytes:
    """Float samples in [-1, 1] as a 16-bit mono WAV file at :data:`SAMPLE_RATE`."""
    import numpy as np

    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()


def synthesise(piece: Piece, rate: int = SAMPLE_RATE) -> Any:
    """The piece as float32 mono samples: additive synthesis, normalised to -1 dBFS peak.

    The length is exactly the roll's (steps x a sixteenth at the piece's tempo) plus
    nothing: releases that run past the end are cut.
    """
    import numpy as np

    step = 60.0 / (piece.tempo * STEPS_PER_BEAT)
    total = round(piece.steps * step * rate)
    out = np.zeros(total, np.float32)
    rng = np.random.default_rng(0)
    for k, start, end, pitch in piece.notes():
        s = round(start * step * rate)
        if s >= total:
            continue
        length = round((end - start) * step * rate)
        if piece.drums[k]:
            n = min(int(0.12 * rate), total - s)
            hit = rng.standard_normal(n).astype(np.float32) * np.exp(-np.arange(n) / (0.03 * rate))
            tone = 0.5 if pitch in (35, 36) else 0.3  # kicks louder, with a low thump
            if pitch in (35, 36):
                hit = hit * 0.3 + np.sin(2 * np.pi * 60 * np.arange(n) / rate) * np.exp(
                    -np.arange(n) / (0.05 * rate)
                )
            out[s : s + n] += tone * hit.astype(np.float32)
            continue
        harmonics, (attack, decay, sustain, release) = _TIMBRES[k % len(_TIMBRES)]
        rel = int(release * rate)
        n = min(length + rel, total - s)
        t = np.arange(n, dtype=np.float32) / rate
        freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
        wave_ = np.zeros(n, np.float32)
        for h, amp in enumerate(harmonics, start=1):
            if amp and freq * h < rate / 2:
                wave_ += amp * np.sin(2 * np.pi * freq * h * t, dtype=np.float32)
        env = _adsr(n, length, rate, attack, decay, sustain, rel)
        out[s : s + n] += 0.3 * wave_ * env
    peak = float(np.abs(out).max()) if total else 0.0
    if peak > 0:
        out *= 0.89 / peak
    return out


def _adsr(
    n: int, held: int, rate: int, attack: float, decay: float, sustain: float, rel: int
) -> Any:
    import numpy as np

    a, d = max(1, int(attack * rate)), max(1, int(decay * rate))
    i = np.arange(n, dtype=np.float32)
    env = np.where(
        i < a, i / a, np.where(i < a + d, 1.0 - (1.0 - sustain) * (i - a) / d, sustain)
    ).astype(np.float32)
    if held < n:
        level = env[held - 1] if held > 0 else 0.0
        tail = np.arange(n - held, dtype=np.float32)
        env[held:] = level * np.clip(1.0 - tail / max(rel, 1), 0.0, 1.0)
    return env
