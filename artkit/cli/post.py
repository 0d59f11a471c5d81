"""``artkit post STEP [STEP ...]``: run a chain of post-processors over images.

Each STEP is ``name`` or ``name:key=value,key=value`` (``palette:colors=8,dither=floyd``);
the chain is resolved by :mod:`artkit.api.post`: steps are looked up in the
``postprocessors`` registry and their parameters typed and validated *before* any
input is read, so a typo fails at once (exit 2).

Images come from ``-i PATH`` (repeatable; folders expand) or, without it, from the
records on stdin (paths or JSON lines, :mod:`artkit.records`). The chain runs per
image in a thread pool (Pillow and numpy release the GIL for the heavy work, and
threads start instantly, unlike processes); results are written as they finish
but printed in input order, and a reader thread keeps stdin flowing, so each
output path appears as soon as it and everything before it are done.

Never imports torch; numpy only when a step needs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from artkit.api.post import Step, build_chain, run_chain
from artkit.cli.options import FORMATS, NullSeparated
from artkit.errors import ArtkitError, UsageError

if TYPE_CHECKING:
    from concurrent.futures import Future

    from artkit.records import Record

_KEEP = {".png": "png", ".webp": "webp", ".jpg": "jpg", ".jpeg": "jpg"}
DEFAULT_OUT = Path("post")


# --------------------------------------------------------------------------- files


def _jobs(text: str) -> int:
    if text.strip().lower() in ("all", "0"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise UsageError(f"--jobs {text!r}: use a number of images at once (1, 2, ...) or all")
    return value


class _Targets:
    """Output paths: the input's stem in the output folder; repeated stems get -1, -2, ..."""

    def __init__(self, out: Path, fmt: str):
        self.out, self.fmt, self.used = out, fmt, set[str]()

    def __call__(self, source: str) -> tuple[Path, str]:
        fmt = self.fmt if self.fmt != "keep" else _KEEP.get(Path(source).suffix.lower(), "png")
        stem = Path(source).stem or "image"
        name, n = f"{stem}.{fmt}", 0
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.{fmt}"
        self.used.add(name)
        target = self.out / name
        _check_target(target, source)
        return target, fmt


def _check_target(target: Path, source: str) -> None:
    """Never overwrite an input, nor a file artkit did not write (no provenance in it)."""
    if not target.exists():
        return
    try:
        same = os.path.samefile(target, source)
    except OSError:
        same = False
    if same:
        raise UsageError(
            f"{target}: this is the input image; writing the result there would overwrite it "
            "(choose another -o)"
        )
    from artkit.images import read_provenance

    try:
        ours = read_provenance(target) is not None
    except Exception:
        ours = False
    if not ours:
        raise UsageError(
            f"{target} exists and was not written by artkit; remove it or choose another -o"
        )


def process_file(
    source: str, target: Path, fmt: str, chain: Sequence[Step], quality: int = 95
) -> str:
    """Load ``source``, run ``chain``, save to ``target`` with the provenance extended."""
    from artkit import __version__
    from artkit.images import load_image, read_provenance, save_image

    image = load_image(source, mode=None)
    provenance = dict(read_provenance(image) or {})
    image = run_chain(image, chain, source)
    before = provenance.get("post")
    provenance["post"] = [*(before if isinstance(before, list) else []), *(s.spec for s in chain)]
    provenance["source"] = source
    provenance.setdefault("artkit", __version__)
    save_image(image, target, provenance=provenance, format=fmt, quality=quality, durable=False)
    return str(target)


_DONE = object()


def _feed(
    records: Iterator[Record],
    submit: Callable[[Record], Future],
    queue: Any,
    stop: threading.Event,
) -> None:
    """Reader thread: records -> submitted jobs, in order, into a bounded queue."""
    from queue import Full

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    try:
        for record in records:
            if stop.is_set() or not put((record, submit(record))):
                return
    except BaseException as exc:  # bad stdin record, or shutdown: tell the main thread
        put(exc)
        return
    put(_DONE)


def _run(
    records: Iterator[Record],
    chain: Sequence[Step],
    targets: _Targets,
    writer: Any,
    jobs: int,
    quality: int,
) -> tuple[int, int]:
    """Process every record; returns (done, failed). Raises OutputClosed when stdout closes."""
    import queue as queue_module
    from concurrent.futures import Future, ThreadPoolExecutor

    from artkit.cli.context import warn

    pool = ThreadPoolExecutor(jobs, thread_name_prefix="artkit-post") if jobs > 1 else None

    def submit(record: Record) -> Future:
        target, fmt = targets(record.path)
        args = (record.path, target, fmt, chain, quality)
        if pool is not None:
            return pool.submit(process_file, *args)
        future: Future = Future()  # one worker: run right here, in the reader thread
        try:
            future.set_result(process_file(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    done = failed = 0
    pending: Any = queue_module.Queue(maxsize=2 * jobs)
    stop = threading.Event()
    reader = threading.Thread(
        target=_feed, args=(records, submit, pending, stop), name="artkit-post-reader", daemon=True
    )
    reader.start()
    try:
        while True:
            item = pending.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            record, future = item
            try:
                path = future.result()
            except ArtkitError as exc:
                failed += 1
                warn(str(exc))
                continue
            except Exception as exc:
                failed += 1
                warn(f"{record.path}: {type(exc).__name__}: {exc}")
                continue
            fields = {k: v for k, v in record.data.items() if k != "path"}
            writer.write(path, **{**fields, "source": record.path})
            done += 1
    finally:
        stop.set()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return done, failed


# --------------------------------------------------------------------------- command


def attach(app: typer.Typer) -> None:
    app.command("post")(post)


def post(
    steps: Annotated[
        list[str],
        typer.Argument(
            help="Steps to run in order, each name or name:key=value,key=value (see artkit list post).",
            metavar="STEP",
            show_default=False,
        ),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="An input image or folder (repeatable); without it, paths or JSON records are read from stdin.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = DEFAULT_OUT,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="png | webp | jpg | keep (the input's format if one of those, else png).",
        ),
    ] = "keep",
    quality: Annotated[int, typer.Option("--quality", help="WebP/JPEG quality, 0-100.")] = 95,
    jobs: Annotated[
        str, typer.Option("--jobs", "-j", help="Images processed at once: a number, or all cores.")
    ] = "all",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per image (with its source).")
    ] = False,
    null: NullSeparated = False,
) -> None:
    """Post-process images through a chain of steps; prints each output path in input order.

    Example: artkit sample m.safetensors -n 64 | artkit post grade:contrast=1.2 sharpen palette:colors=16 -o post

    Each output keeps its input's file name (in --out) and its provenance, plus the chain of steps under "post" and the input path under "source". Steps are checked before any image is read: a bad name or value exits with status 2.
    """
    from artkit.cli.context import say
    from artkit.records import OutputClosed, RecordWriter, read_records

    # Parallelism is over images: BLAS threads on top of the workers oversubscribe the
    # cores (measured 4x slower palette mapping on a shared 2-core machine). Effective
    # because numpy is not imported yet; an explicit setting in the environment wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    chain = build_chain(steps)  # every step checked before any input is read
    fmt = fmt.strip().lower().replace("jpeg", "jpg")
    if fmt not in (*FORMATS, "keep"):
        raise UsageError(f"--format {fmt!r}: use png, webp, jpg or keep")
    if not 0 <= quality <= 100:
        raise UsageError(f"--quality {quality}: use 0 to 100")
    workers = _jobs(jobs)
    records = read_records(inputs or [])
    out.mkdir(parents=True, exist_ok=True)
    writer = RecordWriter(json=as_json, null=null)
    try:
        done, failed = _run(records, chain, _Targets(out, fmt), writer, workers, quality)
    except OutputClosed:
        return
    if failed:
        raise ArtkitError(f"{failed} of {done + failed} images failed (see the warnings above)")
    say(f"post: {done} image{'s' if done != 1 else ''} -> {out}/")
