"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temporary name in the same directory, flush and fsync, then
``os.replace`` onto the target (atomic on POSIX and Windows). A crash or a
SIGKILL at any moment leaves at worst a ``.*.tmp-*`` file behind, never a
truncated target.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: the longest file name most file systems allow, in bytes
NAME_MAX = 255


def temp_path_for(path: Path) -> Path:
    """``.NAME.tmp-PID-RANDOM`` beside ``path``; NAME shortened so the whole fits in 255 bytes."""
    suffix = f".tmp-{os.getpid()}-{os.urandom(4).hex()}"  # (secrets costs 8 ms of start-up)
    room = NAME_MAX - 1 - len(suffix.encode())
    name = os.fsencode(path.name)[:room]
    return path.with_name(f".{os.fsdecode(name)}{suffix}")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, *, durable: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file for binary writing; on success it replaces ``path``.

    The temp name is created exclusively. ``durable=False`` skips the fsyncs: the
    rename still means a killed process never leaves a truncated file (only a
    power cut could); bulk image output uses it, as fsync per image cost ~30%.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(target)
    try:
        with open(tmp, "xb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if durable:
        _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path) as handle:
        handle.write(data)
    return Path(path)


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable; not all platforms allow opening a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
