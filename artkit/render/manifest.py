"""``manifest.jsonl``: one line per image of a series, in plan order.

Each line is ``{"index", "path", "sha256", "params"}`` with the path relative to
the output folder. A run writes its manifest through a temporary file and renames
it when the run is complete, so a manifest is never half-written; the lines carry
nothing about *when* or *how fast*, so rendering a spec twice gives the same
manifest byte for byte.

A shard writes ``manifest.shard-I-of-N.jsonl``; when every shard's manifest is
present (one shared folder, or copied together) they are merged -- by job number,
streaming, checking that no job is missing or duplicated -- into ``manifest.jsonl``.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from artkit.errors import ArtkitError

MANIFEST = "manifest.jsonl"


def shard_manifest_name(index: int, count: int) -> str:
    return MANIFEST if count == 1 else f"manifest.shard-{index + 1}-of-{count}.jsonl"


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    return value


def record_line(index: int, path: str, sha256: str, params: dict[str, Any]) -> str:
    record = {
        "index": index,
        "path": path,
        "sha256": sha256,
        "params": {k: _plain(v) for k, v in params.items()},
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_replaceable(target: Path) -> None:
    """Refuse to replace a ``manifest.jsonl`` that artkit did not write (one line)."""
    if not target.exists():
        return
    try:
        with open(target, encoding="utf-8") as fh:
            first = fh.readline(1 << 16)
        record = json.loads(first) if first.strip() else {}
        ours = not first.strip() or {"index", "path", "sha256", "params"} <= set(record)
    except (OSError, ValueError, TypeError, RecursionError):
        ours = False
    if not ours:
        from artkit.errors import UsageError

        raise UsageError(
            f"{target} exists and was not written by artkit; remove it, choose another out, "
            "or pass --force to replace it"
        )


class ManifestWriter:
    """Lines go to a temp file beside the target; :meth:`commit` renames it into place."""

    def __init__(self, target: Path):
        from artkit.atomic import temp_path_for

        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temp_path_for(target)
        self._handle: TextIO | None = open(self.tmp, "x", encoding="utf-8")  # noqa: SIM115

    def write(self, line: str) -> None:
        assert self._handle is not None
        self._handle.write(line + "\n")

    def commit(self) -> Path:
        assert self._handle is not None
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise
        return self.target

    def discard(self) -> None:
        """Drop the temp file. Closing may fail itself (a full disk cannot take the
        buffered lines): the file is removed all the same."""
        handle, self._handle = self._handle, None
        try:
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()


def read_manifest(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ArtkitError(f"{path}:{number}: not a manifest line ({exc.msg})") from None


def shard_manifests(out: Path, count: int) -> list[Path]:
    return [out / shard_manifest_name(i, count) for i in range(count)]


def merge_shards(out: Path, count: int, total: int) -> Path:
    """Merge the ``count`` shard manifests in ``out`` into ``manifest.jsonl``.

    Raises ArtkitError naming the missing shard, a duplicated or a missing job.
    """
    paths = shard_manifests(out, count)
    for path in paths:
        if not path.exists():
            raise ArtkitError(f"cannot merge: {path.name} is missing (that shard has not finished)")
    streams = [((rec["index"], n, rec) for rec in read_manifest(p)) for n, p in enumerate(paths)]
    writer = ManifestWriter(out / MANIFEST)
    expected = 0
    try:
        for index, _, record in heapq.merge(*streams, key=lambda t: t[0]):
            if index != expected:
                problem = "twice" if index < expected else f"but job {expected} is missing"
                raise ArtkitError(f"cannot merge shard manifests: job {index} appears {problem}")
            writer.write(
                json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            )
            expected += 1
        if expected != total:
            raise ArtkitError(f"cannot merge shard manifests: {expected} of {total} jobs present")
    except BaseException:
        writer.discard()
        raise
    return writer.commit()


def all_shards_present(out: Path, count: int) -> bool:
    return all(p.exists() for p in shard_manifests(out, count))
