"""Configs of the music models (``musegan``, ``musicvae``): torch-free dataclasses.

``artkit list models`` reads these (through :func:`artkit.registry.params_from`)
without importing torch. Every config validates itself in ``__post_init__`` and
raises a one-line :class:`~artkit.errors.UsageError` naming the field.

A model's piano roll is ``bars * steps_per_bar`` time steps by ``pitches`` rows
(row 0 is MIDI note ``low``) by ``tracks`` voices. The generic trainer reads a
model's :attr:`resolution` (``"TxP"``) and :attr:`channels` (tracks) to build its
dataset, exactly as for an image model of that height, width and channel count.
``programs`` and ``names`` are what the ``midi`` medium writes into the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from artkit.config_checks import MAX_Z_DIM, int_in, number_in, option, require

#: GM programs (0-based) and track names by track count when ``programs``/``names`` are ""
_DEFAULT_PROGRAMS = {1: (0,), 2: (73, 0), 4: (52, 52, 48, 48)}
_DEFAULT_NAMES = {
    1: ("melody",),
    2: ("melody", "chords"),
    4: ("soprano", "alto", "tenor", "bass"),
}


def _split(text: str) -> list[str]:
    """``"52/52/48/48"``, ``"52,52,48,48"`` (or ``+`` between) -> the words, stripped."""
    return [w.strip() for w in text.replace(",", "/").replace("+", "/").split("/") if w.strip()]


class _RollConfig:
    """What both music configs share: the roll's shape, its checks and its MIDI metadata."""

    owner: ClassVar[str] = ""

    bars: int
    steps_per_bar: int
    pitches: int
    low: int
    tracks: int
    width: float
    z_dim: int
    tempo: float
    programs: str
    names: str

    # -- what the trainer and the midi medium read -------------------------------
    @property
    def time_steps(self) -> int:
        """Time steps in one piece: ``bars * steps_per_bar``."""
        return self.bars * self.steps_per_bar

    @property
    def resolution(self) -> str:
        """``"TxP"``: the trainer builds the dataset at this size (rows = time, columns = pitch)."""
        return f"{self.time_steps}x{self.pitches}"

    @property
    def channels(self) -> int:
        """The dataset's channels: one per track."""
        return self.tracks

    @property
    def program_numbers(self) -> tuple[int, ...]:
        """One GM program (0-127) per track (``programs`` repeated when it names one)."""
        words = _split(self.programs)
        if not words:
            return _DEFAULT_PROGRAMS.get(self.tracks, (0,) * self.tracks)
        numbers = tuple(int(w) for w in words)
        return numbers * self.tracks if len(numbers) == 1 else numbers

    @property
    def track_names(self) -> tuple[str, ...]:
        """One name per track."""
        words = _split(self.names)
        if words:
            return tuple(words)
        default = tuple(f"track {i + 1}" for i in range(self.tracks))
        return _DEFAULT_NAMES.get(self.tracks, default)

    def _check_roll(self) -> None:
        o = self.owner
        require(int_in(self.bars, 1, 32), o, "bars", self.bars, "an integer from 1 to 32")
        ok = int_in(self.steps_per_bar, 4, 96) and self.steps_per_bar % 4 == 0
        require(ok, o, "steps_per_bar", self.steps_per_bar, "a multiple of 4 from 4 to 96")
        ok = int_in(self.pitches, 12, 128) and self.pitches % 12 == 0
        require(ok, o, "pitches", self.pitches, "a multiple of 12 (whole octaves) from 12 to 120")
        ok = int_in(self.low, 0, 127) and self.low + self.pitches <= 128
        require(ok, o, "low", self.low, "a MIDI note >= 0 with low + pitches <= 128")
        require(int_in(self.tracks, 1, 16), o, "tracks", self.tracks, "an integer from 1 to 16")
        ok = number_in(self.width, 0, 16, lo_open=True)
        require(ok, o, "width", self.width, "a number > 0 and <= 16 (e.g. 0.5, 1, 2)")
        ok = int_in(self.z_dim, 1, MAX_Z_DIM)
        require(ok, o, "z_dim", self.z_dim, f"an integer from 1 to {MAX_Z_DIM}")
        ok = number_in(self.tempo, 10, 400)
        require(ok, o, "tempo", self.tempo, "a number of beats per minute from 10 to 400")
        self.programs = _text(self.programs)
        self.names = _text(self.names)
        words = _split(self.programs)
        ok = all(w.isascii() and w.isdigit() and int(w) <= 127 for w in words)
        ok = ok and len(words) in (0, 1, self.tracks)
        allowed = f'GM program numbers 0-127, one or {self.tracks} (one per track), e.g. "52/48"'
        require(ok, o, "programs", self.programs, allowed)
        ok = len(_split(self.names)) in (0, self.tracks)
        require(ok, o, "names", self.names, f"{self.tracks} names separated by /")
        # kept as "52/52/48/48": one spelling for the checkpoint and the midi medium
        self.programs = "/".join(map(str, self.program_numbers))
        self.names = "/".join(self.track_names)


def _text(value: Any) -> Any:
    """A list/tuple of programs or names (from Python) as the one string the config keeps."""
    if isinstance(value, list | tuple):
        return "/".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else repr(value)


@dataclass
class MuseGANConfig(_RollConfig):
    """MuseGAN (Dong et al. 2018), the hybrid model: multi-track piano-roll phrases from noise.

    The latent has four parts of ``z_dim`` each: shared by all tracks and bars,
    one per track, and two that a temporal generator unrolls into one vector per
    bar (shared and per track); each track's bar generator turns its four parts into
    that bar's roll.
    """

    owner: ClassVar[str] = "musegan"

    bars: int = option(4, "bars per phrase (4/4 time)")
    steps_per_bar: int = option(16, "time steps per bar (16: sixteenth notes), a multiple of 4")
    pitches: int = option(48, "pitch rows, whole octaves (48: four octaves)")
    low: int = option(36, "MIDI note of the lowest row (36 = C2)")
    tracks: int = option(4, "voices (e.g. 4: soprano, alto, tenor, bass)")
    width: float = option(1.0, "multiplier on every channel count (0.5 halves the networks)")
    z_dim: int = option(
        32, "size of each of the four latent parts (the latent is 2 + 2*tracks parts)"
    )
    tempo: float = option(100.0, "tempo of the MIDI files written, beats per minute")
    programs: str = option("", 'GM program per track, e.g. "52/52/48/48" ("": by track count)')
    names: str = option("", 'track names, e.g. "soprano/alto/tenor/bass" ("": by track count)')
    voices: str = option(
        "poly",
        "poly: any notes at once per track; mono: at most one note per track (a melody line)",
    )
    note_steps: int = option(
        1, "shortest note G writes, in steps: 1, 2 (eighths on a 16-step bar) or 4 (quarters)"
    )
    pack: int = option(1, "phrases the discriminator judges together (PacGAN; 1 = one at a time)")
    mode_seeking: float = option(
        0.02, "weight of the mode-seeking term that rewards different phrases for different latents"
    )

    def __post_init__(self) -> None:
        self._check_roll()
        o = self.owner
        require(self.voices in ("poly", "mono"), o, "voices", self.voices, "poly or mono")
        ok = self.note_steps in (1, 2, 4) and not isinstance(self.note_steps, bool)
        require(ok, o, "note_steps", self.note_steps, "1, 2 or 4")
        require(int_in(self.pack, 1, 8), o, "pack", self.pack, "an integer from 1 to 8")
        ok = number_in(self.mode_seeking, 0, 100)
        require(ok, o, "mode_seeking", self.mode_seeking, "a number from 0 to 100 (0 = off)")


@dataclass
class MusicVAEConfig(_RollConfig):
    """A MusicVAE-style piano-roll VAE (Roberts et al. 2018): a bidirectional GRU encoder and a
    hierarchical decoder (a conductor GRU gives each bar an embedding, a step GRU plays it).
    """

    owner: ClassVar[str] = "musicvae"

    bars: int = option(4, "bars per piece (4/4 time)")
    steps_per_bar: int = option(16, "time steps per bar (16: sixteenth notes), a multiple of 4")
    pitches: int = option(48, "pitch rows, whole octaves (48: four octaves)")
    low: int = option(36, "MIDI note of the lowest row (36 = C2)")
    tracks: int = option(2, "voices (e.g. 2: melody and chords)")
    width: float = option(1.0, "multiplier on every hidden size (0.5 halves the networks)")
    z_dim: int = option(64, "latent vector size")
    tempo: float = option(100.0, "tempo of the MIDI files written, beats per minute")
    programs: str = option("", 'GM program per track, e.g. "73/0" ("": by track count)')
    names: str = option("", 'track names, e.g. "melody/chords" ("": by track count)')
    beta: float = option(0.5, "weight on the KL term")
    kl_warmup: int = option(
        1000, "raise the KL weight linearly from 0 to beta over this many steps"
    )
    free_bits: float = option(0.05, "KL floor in nats per latent dimension (0 = off)")

    def __post_init__(self) -> None:
        self._check_roll()
        o = self.owner
        require(number_in(self.beta, 0, 1000), o, "beta", self.beta, "a number from 0 to 1000")
        ok = int_in(self.kl_warmup, 0)
        require(ok, o, "kl_warmup", self.kl_warmup, "a number of steps >= 0 (0 = off)")
        ok = number_in(self.free_bits, 0, 100)
        require(ok, o, "free_bits", self.free_bits, "a number of nats from 0 to 100 (0 = off)")
