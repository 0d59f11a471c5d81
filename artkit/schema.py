"""Checkpoint schema versions: which layout a weights file has, and how older ones are read.

Every model file artkit writes says its layout in the ``artkit.schema`` metadata key.
A file without the key is schema 1 (everything artkit 0.1.0 wrote). Loading an
older schema works: :func:`migrate_metadata` brings its metadata up to date in memory,
and the model fills what the old file lacks (``ArtModel.optional_state``); the caller
is told once with a :class:`CheckpointMigrationWarning`, and
``artkit checkpoint upgrade FILE`` writes an up-to-date copy (never in place, since
images remember the old file's sha256). A file from a newer artkit is refused in one
line naming the version that wrote it: guessing at a layout we do not know would load
wrong weights silently.

To change the layout: bump :data:`SCHEMA`, say what changed in :data:`HISTORY`, add the
step from the previous schema to :data:`_STEPS`, and keep a tiny file of the old schema
under ``tests/data/checkpoints/`` (the tests load every one of them).

No torch here: ``artkit info`` reads the schema from the header alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from artkit.errors import ArtkitWarning, CheckpointError

#: the schema this artkit writes
SCHEMA = 2
#: the metadata key that holds it
SCHEMA_KEY = "artkit.schema"

#: what each schema is, for ``artkit info`` and the docs
HISTORY: dict[int, str] = {
    1: "artkit 0.1.0: no artkit.schema key; the config lists the options the model "
    "had then, and a VAE lacks the learned-prior buffers (prior_*)",
    2: "artkit.schema key; the config lists every option of the model and the file "
    "holds every tensor the model has",
}


class CheckpointMigrationWarning(ArtkitWarning):
    """A checkpoint of an older schema was loaded through a migration."""


def schema_of(metadata: dict[str, str], path: str | Path = "checkpoint") -> int:
    """The schema a file's metadata declares (1 when it declares none)."""
    raw = metadata.get(SCHEMA_KEY)
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit() and len(raw) < 6) or int(raw) < 1:
        raise CheckpointError(f"{path}: {SCHEMA_KEY} {raw[:40]!r} is not a schema number")
    return int(raw)


def check_readable(metadata: dict[str, str], path: str | Path) -> int:
    """The file's schema, or a one-line error when it is newer than this artkit reads."""
    from artkit import __version__

    schema = schema_of(metadata, path)
    if schema > SCHEMA:
        writer = metadata.get("artkit.version", "an unknown version")
        raise CheckpointError(
            f"{path}: checkpoint schema {schema}, written by artkit {writer[:40]}; "
            f"artkit {__version__} reads schemas 1 to {SCHEMA}: upgrade artkit "
            "(pip install -U artkit)"
        )
    return schema


# -- migrations ----------------------------------------------------------------
# Each step takes the metadata of schema N and returns that of schema N + 1. Tensor
# changes that need the model (new buffers) are the model's: optional_state.
def _1_to_2(metadata: dict[str, str]) -> dict[str, str]:
    # Nothing was renamed: schema 2 only promises that the file is complete, which
    # saving the rebuilt model (every config option, every tensor) makes true.
    return {**metadata, SCHEMA_KEY: "2"}


_STEPS: dict[int, Callable[[dict[str, str]], dict[str, str]]] = {1: _1_to_2}


def migrate_metadata(metadata: dict[str, str], path: str | Path) -> tuple[dict[str, str], int]:
    """``(metadata as of SCHEMA, the schema the file had)``; a newer file is an error."""
    found = check_readable(metadata, path)
    for schema in range(found, SCHEMA):
        metadata = _STEPS[schema](metadata)
    return metadata, found


def migration_message(path: str | Path, found: int) -> str:
    """The one line a caller sees when an older checkpoint is loaded."""
    return (
        f"{path}: checkpoint schema {found} (older than {SCHEMA}); loaded through a "
        f"migration. `artkit checkpoint upgrade {path}` writes a schema-{SCHEMA} copy"
    )
