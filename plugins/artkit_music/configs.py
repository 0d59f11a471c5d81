"""Parameters of the music datasets (their fields become typed CLI params).

Torch-, numpy- and music21-free, so that ``artkit list datasets`` stays cheap; the
datasets themselves live in :mod:`artkit_music.corpus`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artkit.errors import UsageError

#: most tracks a music dataset gives
MAX_TRACKS = 16


def _check_int(owner: str, name: str, value: object, *, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{owner}: {name}={value!r} must be an integer")
    if value < low:
        raise UsageError(f"{owner}: {name}={value} must be at least {low}")
    if high is not None and value > high:
        raise UsageError(f"{owner}: {name}={value} must be at most {high}")


def _check_fraction(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{owner}: {name}={value!r} must be a number")
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{owner}: {name}={value} must be between 0 and 1")


def _check_window(owner: str, low: object, hop: object, min_active: object) -> None:
    _check_int(owner, "low", low, low=0, high=127)
    _check_int(owner, "hop", hop, low=0, high=64)
    _check_fraction(owner, "min_active", min_active)


@dataclass
class CorpusConfig:
    """Pieces from the music21 corpus, cut into piano-roll windows."""

    count: int = field(
        default=0, metadata={"help": "number of pieces, a seeded random choice; 0 = every piece"}
    )
    seed: int = field(default=0, metadata={"help": "seed choosing the pieces when count > 0"})
    low: int = field(
        default=36,
        metadata={"help": "MIDI note of the lowest pitch row (36 = C2); others fold by octaves"},
    )
    hop: int = field(
        default=0,
        metadata={"help": "bars between window starts; 0 = half a window (at least one bar)"},
    )
    min_active: float = field(
        default=0.5,
        metadata={"help": "drop windows where fewer than this fraction of steps sound"},
    )

    def __post_init__(self) -> None:
        owner = "music corpus dataset"
        _check_int(owner, "count", self.count, low=0)
        _check_int(owner, "seed", self.seed, low=-(2**63))
        _check_window(owner, self.low, self.hop, self.min_active)


@dataclass
class MidiFolderConfig:
    """MIDI files from a folder, cut into piano-roll windows."""

    path: str = field(metadata={"help": "folder of MIDI files (.mid, .midi), or one MIDI file"})
    recursive: bool = field(default=True, metadata={"help": "also read files in subfolders"})
    low: int = field(
        default=36,
        metadata={"help": "MIDI note of the lowest pitch row (36 = C2); others fold by octaves"},
    )
    hop: int = field(
        default=0,
        metadata={"help": "bars between window starts; 0 = half a window (at least one bar)"},
    )
    min_active: float = field(
        default=0.5,
        metadata={"help": "drop windows where fewer than this fraction of steps sound"},
    )

    def __post_init__(self) -> None:
        owner = "midi dataset"
        if not isinstance(self.path, str) or not self.path.strip():
            raise UsageError(f"{owner}: path= must name a folder of MIDI files")
        if not isinstance(self.recursive, bool):
            raise UsageError(f"{owner}: recursive={self.recursive!r} must be true or false")
        _check_window(owner, self.low, self.hop, self.min_active)
