"""The record protocol that lets artkit commands (and xargs, find, jq) form pipelines.

DESIGN.md principle 5: stdout carries data, stderr carries messages. A command that
writes images prints one *record* per image on stdout; a command that takes images
reads records from its arguments or, with none, from stdin. A record is

* a plain path, one per line (the default), or NUL-terminated (``-0``, as from
  ``find -print0``), or
* a JSON object with a ``path`` key, one per line (``--json``); its other keys (seed,
  model, ...) travel with it and are available to the next command as ``Record.data``.

So ``artkit sample m.safetensors -n 64 -o a | artkit post palette:colors=8 -o b |
artkit grid -o sheet.png`` works, and each command starts on the first image while the
previous one is still producing the rest: the reader is lazy and the writer flushes
after every record.

Public API::

    Record(path, data)
    read_records(args, *, stdin=None, expand=True) -> Iterator[Record]
    RecordWriter(stream=None, *, json=False, null=False).write(path, **fields)
    OutputClosed
    expand_paths(args) -> list[str]
"""

from __future__ import annotations

import codecs
import errno
import json as _json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from artkit.errors import UsageError

__all__ = ["OutputClosed", "Record", "RecordWriter", "expand_paths", "read_records"]

NO_INPUT_MESSAGE = "no input images: give paths as arguments or pipe them on stdin"

# How much to ask the OS for at once. read1 returns whatever the pipe already holds
# (at most this), so a small producer still gets every record through immediately.
_CHUNK = 64 * 1024
#: the longest record read from stdin: a path, or a JSON object with a few fields
MAX_RECORD_CHARS = 1 << 20


@dataclass
class Record:
    """One input image: its ``path``, plus everything its JSON line said.

    ``data`` is the whole JSON object when the record came as JSON (``path``
    included), else ``{"path": path}``.
    """

    path: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.data:
            self.data = {"path": self.path}


# --------------------------------------------------------------------------- reading


def expand_paths(args: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Replace each directory in ``args`` by the image files under it.

    Directories are walked recursively; files are kept when their suffix is one of
    :data:`artkit.images.IMAGE_SUFFIXES`, sorted by path components, and hidden
    entries (names starting with ``.``, such as artkit's own temp files or ``.git``)
    below the given directory are skipped. Other arguments are kept as given, in
    order, even when they do not exist: reading them reports the problem with the
    file's name. An empty directory contributes nothing (no error here).
    """
    out: list[str] = []
    for arg in args:
        name = os.fspath(arg)
        if not os.path.isdir(name):
            out.append(name)
            continue
        from artkit.images import is_image_path  # Pillow only when a folder is expanded

        found: list[tuple[tuple[str, ...], str]] = []
        for root, dirs, files in os.walk(name):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel_root = os.path.relpath(root, name)
            parts = () if rel_root == os.curdir else tuple(rel_root.split(os.sep))
            for fname in files:
                if not fname.startswith(".") and is_image_path(fname):
                    found.append(((*parts, fname), os.path.join(root, fname)))
        out.extend(path for _, path in sorted(found))
    return out


def _text_chunks(stream: TextIO) -> Iterator[str]:
    """Yield text from ``stream`` as soon as it arrives, without waiting for EOF.

    For a real pipe (a TextIOWrapper over a buffered binary stream) this reads the
    binary layer with ``read1``, which returns whatever is available, and decodes
    incrementally with ``surrogateescape`` so undecodable file names survive as
    ``os.fsencode`` would have them. The stream must not have been read from at the
    text level before. Other text streams (StringIO, custom) are read line by line.
    """
    raw = getattr(stream, "buffer", None)
    read1 = getattr(raw, "read1", None)
    if read1 is None:
        yield from iter(stream.readline, "")
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    while chunk := read1(_CHUNK):
        if text := decoder.decode(chunk):
            yield text
    if tail := decoder.decode(b"", final=True):
        yield tail


def _split_records(chunks: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Split a stream of text chunks into ``(record, separator)`` pairs, streaming.

    The separator is decided by the first chunk that holds one: if it contains a NUL,
    records are NUL-terminated (newlines are then part of names), otherwise they are
    lines. Splitting happens as chunks arrive, so records flow through a pipeline.
    Only each new chunk is searched and an unfinished record is kept as a list of
    pieces, so a long record costs linear time; one over :data:`MAX_RECORD_CHARS`
    is a one-line error (stdin is untrusted: it could be a 64 MB line of garbage).
    """
    pieces: list[str] = []  # the unfinished record
    size, number = 0, 1
    sep: str | None = None

    def too_long() -> UsageError:
        unit = "record" if sep == "\0" else "line"
        return UsageError(
            f"stdin {unit} {number}: longer than {MAX_RECORD_CHARS:,} characters; "
            "give one path (or one JSON object) per line"
        )

    for chunk in chunks:
        if sep is None:
            if "\0" in chunk:
                sep = "\0"
            elif "\n" in chunk:
                sep = "\n"
            else:
                pieces.append(chunk)
                size += len(chunk)
                if size > MAX_RECORD_CHARS:
                    raise too_long()
                continue
        *complete, rest = chunk.split(sep)
        for part in complete:
            pieces.append(part)
            if size + len(part) > MAX_RECORD_CHARS:
                raise too_long()
            yield "".join(pieces), sep
            pieces, size, number = [], 0, number + 1
        if rest:
            pieces.append(rest)
            size += len(rest)
            if size > MAX_RECORD_CHARS:
                raise too_long()
    if pieces:
        yield "".join(pieces), sep or "\n"


def _parse(text: str, number: int, unit: str) -> Record | None:
    """Turn one raw record into a Record; None for a blank one."""
    text = text.rstrip("\r\n")
    if not text.strip():
        return None
    if not text.lstrip().startswith("{"):
        return Record(text, {"path": text})
    where = f"stdin {unit} {number}"
    try:
        data = _json.loads(text)
    except RecursionError:
        raise UsageError(f"{where}: JSON record nested too deeply") from None
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        at = f" at column {col}" if col else ""
        raise UsageError(f"{where}: invalid JSON record ({msg}{at})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a JSON record must be an object with a 'path' key")
    path = data.get("path")
    if not isinstance(path, str) or not path:
        what = "has no 'path' key" if path is None else "has a 'path' that is not a string"
        raise UsageError(f"{where}: JSON record {what}")
    return Record(path, data)


def _stdin_records(stream: TextIO) -> Iterator[Record]:
    records = _split_records(_text_chunks(stream))
    for number, (raw, sep) in enumerate(records, start=1):
        record = _parse(raw, number, "record" if sep == "\0" else "line")
        if record is not None:
            yield record


def read_records(
    args: Sequence[str | os.PathLike[str]],
    *,
    stdin: TextIO | None = None,
    expand: bool = True,
) -> Iterator[Record]:
    """The input images of a command: its arguments, or else the records on stdin.

    - Paths given as ``args`` win and stdin is not touched; directories among them
      expand to the images under them (:func:`expand_paths`) unless ``expand`` is
      False. A lone ``-`` means "read stdin" explicitly.
    - With no arguments, ``stdin`` (default ``sys.stdin``) is read lazily: the first
      record is yielded as soon as its line is complete, so pipelines flow. Each
      non-blank line is a path, or a JSON object (a line starting with ``{``) with a
      string ``path`` key. Input containing NUL bytes (``find -print0``,
      ``artkit ... -0``) is split on NUL instead, decided by the first chunk that
      holds a separator. Trailing ``\\r``/``\\n`` are stripped; blank records skipped.
    - stdin being a terminal with no arguments is a :class:`UsageError` (the user
      forgot the input; waiting for typed paths would look like a hang).

    Argument and terminal checks happen when this is called, not on first iteration.
    Bad JSON, a JSON line that is not an object or lacks ``path``: :class:`UsageError`
    naming the line number, raised when iteration reaches that line.
    """
    names = [os.fspath(a) for a in args]
    if names and names != ["-"]:
        paths = expand_paths(names) if expand else names
        return iter([Record(p, {"path": p}) for p in paths])
    stream = sys.stdin if stdin is None else stdin
    if stream is None:
        raise UsageError(NO_INPUT_MESSAGE)
    if not names:
        isatty = getattr(stream, "isatty", None)
        if isatty is not None and isatty():
            raise UsageError(NO_INPUT_MESSAGE)
    return _stdin_records(stream)


# --------------------------------------------------------------------------- writing


class OutputClosed(Exception):
    """The reader of our stdout went away (``artkit ... | head -1``).

    Raised by :meth:`RecordWriter.write`. Not an ArtkitError because nothing went
    wrong from the user's point of view: the CLI should catch it, stop producing and
    exit with status 0 and nothing on stderr. Before raising, the writer has pointed
    the stream's file descriptor at ``/dev/null`` (the recipe from the Python docs on
    SIGPIPE), so anything still written to stdout afterwards -- a late ``print``, or
    Python's final flush at exit -- goes nowhere instead of raising BrokenPipeError
    again as a traceback or "Exception ignored ..." with exit status 120.
    """


class RecordWriter:
    """Prints output records: one path a line, NUL-terminated paths, or JSON lines.

    ``RecordWriter(stream=None, *, json=False, null=False)``; ``stream`` defaults to
    ``sys.stdout`` as it is when the writer is made (so pytest's capture works).

    - plain: ``path\\n`` per record;
    - ``null=True``: ``path\\0`` (for ``xargs -0`` and names containing newlines);
    - ``json=True``: ``{"path": ..., **fields}`` compact on one line (terminated by
      NUL instead when ``null`` is also set). Path-like field values become strings.

    Each record is flushed at once so the next command in the pipe can start.

    Broken pipe policy: when the downstream reader has closed the pipe, ``write``
    redirects the stream's descriptor to ``/dev/null`` and raises
    :class:`OutputClosed`; further writes raise it again immediately. Callers stop
    producing and exit 0 quietly.
    """

    def __init__(self, stream: TextIO | None = None, *, json: bool = False, null: bool = False):
        self.stream = sys.stdout if stream is None else stream
        self.json = json
        self.null = null
        self.closed = False
        self.count = 0

    def format(self, path: str | os.PathLike[str], /, **fields: Any) -> str:
        """The text :meth:`write` would print for this record, terminator included.

        ``path`` is positional-only: fields carried over from someone else's record
        may be called anything (``self``, ``path``...); the written path always wins.
        """
        name = os.fspath(path)
        end = "\0" if self.null else "\n"
        if not self.json:
            return name + end
        record = {"path": name, **{k: v for k, v in fields.items() if k != "path"}}
        return (
            _json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_jsonable) + end
        )

    def write(self, path: str | os.PathLike[str], /, **fields: Any) -> None:
        """Print one record and flush. Raises :class:`OutputClosed` on a broken pipe."""
        if self.closed:
            raise OutputClosed()
        text = self.format(path, **fields)
        try:
            try:
                self.stream.write(text)
            except UnicodeEncodeError as exc:
                self._write_unencodable(path, fields, exc)
            self.stream.flush()
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL):
                self._close_quietly()
                raise OutputClosed() from None
            raise
        self.count += 1

    def _write_unencodable(
        self, path: str | os.PathLike[str], fields: dict[str, Any], exc: UnicodeEncodeError
    ) -> None:
        # A name read with surrogateescape (bytes that are not valid in the locale's
        # encoding) cannot pass through a strict text stream.
        end = "\0" if self.null else "\n"
        if self.json:
            # JSON stays valid ASCII text: every odd character becomes a \uXXXX escape.
            record = {"path": os.fspath(path), **fields}
            self.stream.write(_json.dumps(record, separators=(",", ":"), default=_jsonable) + end)
            return
        buffer = getattr(self.stream, "buffer", None)
        if buffer is None:
            raise exc
        # Plain paths: write the original bytes, exactly as the file system has them.
        self.stream.flush()
        buffer.write(os.fsencode(os.fspath(path)) + end.encode())

    def _close_quietly(self) -> None:
        self.closed = True
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return  # not backed by a descriptor (StringIO): nothing will flush at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def _jsonable(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
