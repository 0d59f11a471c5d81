"""The decoded-dataset cache: uint8 arrays on disk, keyed by fingerprint and geometry.

Decoding a folder of photos (or rendering every glyph of a few hundred fonts) is
the slow part of starting a run; the result -- one uint8 array ``(N, R, R, C)`` --
is stored here so that the next run with the same source at the same resolution
and channels loads it with one read and decodes nothing. Within a run every epoch
uses the in-memory array, so nothing is decoded twice either way.

Layout: ``$ARTKIT_CACHE_DIR/datasets`` (default ``$XDG_CACHE_HOME/artkit/datasets``,
else ``~/.cache/artkit/datasets``) holds, per entry,

- ``<name>-<fingerprint>-<resolution>-<channels>.npy``: the array (``np.save``);
- the same name with ``.json``: format version, Pillow version, shape, a CRC-32
  of the pixels and the source's own metadata (file list, skipped files, labels).

Rules:

- The key is the source's :meth:`fingerprint` (which already covers its files'
  sizes and mtimes and its parameters), so a changed source simply has a new key:
  nothing is ever "invalidated" in place. A different Pillow version or cache
  format also misses (decoders change).
- Both files are written atomically (:func:`artkit.atomic.atomic_open`); a missing,
  truncated or corrupt entry (wrong shape, bad CRC, unreadable JSON) is a miss: it
  is deleted and rebuilt without a word.
- After each store, entries beyond the :data:`KEEP` most recently used, or beyond
  ``ARTKIT_DATA_CACHE_MAX_GB`` (default 10) in total, are deleted, oldest first;
  an array bigger than that budget is not stored at all. A hit refreshes the
  entry's mtime (least-recently-used order).
- ``ARTKIT_DATA_CACHE=0`` (or off/false/no) turns the cache off. A cache that cannot
  be written (read-only home, full disk) costs one warning, never the run.

No torch here; numpy is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artkit.atomic import atomic_open
from artkit.config_checks import image_size, resolution_value

#: bump when the entry layout changes (old entries then miss and age out)
FORMAT_VERSION = 1
#: entries kept after a store (the most recently used ones)
KEEP = 8
#: default total budget in GB (``ARTKIT_DATA_CACHE_MAX_GB`` overrides)
DEFAULT_MAX_GB = 10.0
#: leftover temp files (a killed writer) older than this are removed when pruning
STALE_TEMP_SECONDS = 3600
_SWITCH = "ARTKIT_DATA_CACHE"
_BUDGET = "ARTKIT_DATA_CACHE_MAX_GB"


def enabled() -> bool:
    """False when ``ARTKIT_DATA_CACHE`` is 0 / off / false / no."""
    return os.environ.get(_SWITCH, "").strip().lower() not in ("0", "off", "false", "no")


def cache_dir() -> Path:
    """``$ARTKIT_CACHE_DIR/datasets``, else ``$XDG_CACHE_HOME/artkit/datasets``, else ``~/.cache/artkit/datasets``."""
    from artkit.assets import cache_root

    return cache_root() / "datasets"


def max_bytes() -> int:
    raw = os.environ.get(_BUDGET, "").strip()
    try:
        gb = float(raw) if raw else DEFAULT_MAX_GB
    except ValueError:
        gb = float("nan")
    if not math.isfinite(gb) or gb < 0:
        from artkit.errors import UsageError

        raise UsageError(
            f"{_BUDGET}={raw[:40]!r}: expected a number of gigabytes >= 0 (0 = no cache)"
        )
    return int(gb * 1e9)


def entry_paths(name: str, fingerprint: str, resolution: int, channels: int) -> tuple[Path, Path]:
    """The ``.npy`` and ``.json`` paths of one entry."""
    safe = "".join(ch if ch.isalnum() or ch in "_." else "_" for ch in name) or "dataset"
    h, w = image_size(resolution)
    stem = f"{safe}-{fingerprint}-{resolution_value(h, w)}-{int(channels)}"
    folder = cache_dir()
    return folder / f"{stem}.npy", folder / f"{stem}.json"


def _pillow_version() -> str:
    import PIL

    return PIL.__version__


def _crc(array: Any) -> int:
    import numpy as np

    return zlib.crc32(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data)


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def load(
    name: str, fingerprint: str, resolution: int, channels: int
) -> tuple[Any, dict[str, Any]] | None:
    """``(array, meta)`` of a valid entry, or None (a bad entry is deleted)."""
    if not enabled():
        return None
    import numpy as np

    npy, side = entry_paths(name, fingerprint, resolution, channels)
    if not npy.exists() or not side.exists():
        return None
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
        shape = tuple(info["shape"])
        valid = (
            info.get("version") == FORMAT_VERSION
            and info.get("fingerprint") == fingerprint
            and info.get("pillow") == _pillow_version()
            and len(shape) == 4
            and shape[1:] == (*image_size(resolution), channels)
        )
        if not valid:
            raise ValueError("stale entry")
        array = np.load(npy, mmap_mode=None, allow_pickle=False)
        if array.dtype != np.uint8 or array.shape != shape or _crc(array) != info["crc32"]:
            raise ValueError("corrupt entry")
        meta = info.get("meta") or {}
        if not isinstance(meta, dict):
            raise ValueError("corrupt entry")
    except Exception:  # any damage at all: forget the entry, decode again
        _remove(npy, side)
        return None
    if not array.flags.writeable:  # np.load gives writable memory; torch wants it
        array = array.copy()
    now = time.time()
    with contextlib.suppress(OSError):
        os.utime(npy, (now, now))  # least-recently-used order for pruning
    return array, meta


def store(
    name: str,
    fingerprint: str,
    resolution: int,
    channels: int,
    array: Any,
    meta: dict[str, Any] | None = None,
) -> Path | None:
    """Write one entry atomically and prune; the ``.npy`` path, or None when not stored."""
    if not enabled():
        return None
    import numpy as np

    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim != 4 or len(array) == 0:
        return None
    budget = max_bytes()
    if array.nbytes > budget:
        return None
    npy, side = entry_paths(name, fingerprint, resolution, channels)
    info = {
        "version": FORMAT_VERSION,
        "name": name,
        "fingerprint": fingerprint,
        "resolution": resolution_value(*image_size(resolution)),
        "channels": channels,
        "shape": list(array.shape),
        "crc32": _crc(array),
        "pillow": _pillow_version(),
        "created": time.time(),
        "meta": meta or {},
    }
    try:
        with atomic_open(npy) as fh:
            np.save(fh, array, allow_pickle=False)
        with atomic_open(side) as fh:
            fh.write(json.dumps(info, separators=(",", ":")).encode("utf-8"))
    except OSError as exc:
        _remove(npy, side)
        why = exc.strerror or type(exc).__name__
        print(
            f"artkit: warning: could not write the dataset cache in {str(npy.parent)!r} "
            f"({why}); set ARTKIT_CACHE_DIR or ARTKIT_DATA_CACHE=0",
            file=sys.stderr,
        )
        return None
    prune(keep=KEEP, budget=budget)
    return npy


def cached(
    name: str,
    fingerprint: str,
    resolution: int,
    channels: int,
    build: Callable[[], tuple[Any, dict[str, Any]]],
) -> tuple[Any, dict[str, Any], bool]:
    """``(array, meta, hit)``: the stored entry, or ``build()``'s result stored for next time."""
    found = load(name, fingerprint, resolution, channels)
    if found is not None:
        return found[0], found[1], True
    array, meta = build()
    store(name, fingerprint, resolution, channels, array, meta)
    return array, meta, False


def cached_array(source: Any, resolution: int | None = None, channels: int | None = None) -> Any:
    """Any :class:`artkit.data.ImageSource` as one uint8 array, through the cache.

    The key is the source's ``fingerprint()`` with its resolution and channels (the
    explicit arguments, when given, must match them); the array is its
    ``as_array()`` (or every item stacked) on a miss.
    """
    import numpy as np

    r = source.resolution if resolution is None else resolution
    c = source.channels if channels is None else channels
    if (r, c) != (source.resolution, source.channels):
        raise ValueError(
            f"cached_array: the source is {source.resolution}px x {source.channels} channels, "
            f"not {r}px x {c}"
        )
    name = type(source).__name__.removesuffix("Dataset").lower() or "dataset"

    def build() -> tuple[Any, dict[str, Any]]:
        if hasattr(source, "as_array"):
            return np.asarray(source.as_array(), dtype=np.uint8), {}
        return np.stack([np.asarray(source[i], dtype=np.uint8) for i in range(len(source))]), {}

    array, _meta, _hit = cached(name, source.fingerprint(), r, c, build)
    return array


def entries() -> list[dict[str, Any]]:
    """Every complete entry in the cache directory, most recently used first."""
    folder = cache_dir()
    out = []
    with contextlib.suppress(OSError):
        for npy in folder.glob("*.npy"):
            side = npy.with_suffix(".json")
            try:
                st = npy.stat()
                info = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            out.append(
                {
                    "path": str(npy),
                    "name": info.get("name"),
                    "fingerprint": info.get("fingerprint"),
                    "shape": info.get("shape"),
                    "bytes": st.st_size,
                    "used": st.st_mtime,
                }
            )
    out.sort(key=lambda e: e["used"], reverse=True)
    return out


def prune(keep: int = KEEP, budget: int | None = None) -> list[Path]:
    """Delete entries beyond the ``keep`` most recent or the byte ``budget``; return what went."""
    folder = cache_dir()
    budget = max_bytes() if budget is None else budget
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    stems: dict[str, tuple[float, int]] = {}
    for fname in names:
        path = folder / fname
        try:
            st = path.stat()
        except OSError:
            continue
        if _TEMP_NAME.match(fname):
            if now - st.st_mtime > STALE_TEMP_SECONDS:
                _remove(path)
                removed.append(path)
            continue
        stem, dot, suffix = fname.rpartition(".")
        if not dot or suffix not in ("npy", "json") or not _is_ours(folder, stem):
            continue  # not an entry artkit wrote: never deleted
        used, size = stems.get(stem, (0.0, 0))
        used = max(used, st.st_mtime) if suffix == "npy" else used
        stems[stem] = (used, size + st.st_size)
    kept = total = 0
    for stem, (_used, size) in sorted(stems.items(), key=lambda kv: kv[1][0], reverse=True):
        if kept < keep and total + size <= budget:
            kept += 1
            total += size
            continue
        for suffix in ("npy", "json"):
            path = folder / f"{stem}.{suffix}"
            if path.exists():
                _remove(path)
                removed.append(path)
    return removed


#: a leftover of :func:`artkit.atomic.atomic_open` writing one of our files
_TEMP_NAME = re.compile(r"^\.[\w.-]+\.(npy|json)\.tmp-\d+-[0-9a-f]{8}$")


def _is_ours(folder: Path, stem: str) -> bool:
    """True when ``stem`` is an entry artkit wrote: its sidecar describes exactly this entry.

    The cache folder may hold other files (``ARTKIT_CACHE_DIR`` can point anywhere):
    a ``.npy``/``.json`` pair is deleted only if the sidecar parses, has the keys
    :func:`store` writes, and names this very file.
    """
    side = folder / f"{stem}.json"
    try:
        if side.stat().st_size > 1 << 20:
            return False
        info = json.loads(side.read_text(encoding="utf-8"))
        npy, _ = entry_paths(
            str(info["name"]),
            str(info["fingerprint"]),
            info["resolution"],  # an int side, or "HxW" (entry_paths checks it)
            int(info["channels"]),
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return False
    return isinstance(info.get("crc32"), int) and npy.name == f"{stem}.npy"


def clear() -> list[Path]:
    """Delete every entry; return the paths removed."""
    return prune(keep=0, budget=0)
