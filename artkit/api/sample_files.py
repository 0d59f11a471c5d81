"""Sample files on disk: the writer behind ``artkit sample`` and :meth:`Model.save_samples`.

It streams. Seeds are read lazily; each batch is generated while earlier ones are
encoded in a thread pool (PNG encoding and zlib release the GIL), with at most a few
batches in flight; each path is handed back as soon as its file exists. So memory
stays flat for any number of seeds, and the next command in a pipe starts at once.

It never replaces what artkit did not write. A file already at a target path
(``000003.png`` from an earlier ``artkit sample``) is replaced only when it carries
artkit's provenance. Anything else, such as your own picture of that name, a folder or
an unreadable file, is a one-line :class:`~artkit.errors.UsageError` raised before the
first file is written.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artkit.errors import UsageError

if TYPE_CHECKING:
    from artkit.api.model import Model

#: batches encoded at once (and so the most generated ahead of the files on disk)
MAX_WORKERS = 4


def sample_name(seed: int, suffix: str) -> str:
    """The file a seed's sample is written to: ``000042.png``."""
    return f"{seed:06d}{suffix}"


def check_targets(folder: Path, seeds: Iterable[int], suffix: str) -> None:
    """:func:`artkit.media.refuse_foreign` for every seed's target that is already in
    ``folder``. The folder is listed once, so a million seeds into an empty or new
    folder cost nothing but the loop over their names."""
    from artkit.media import refuse_foreign

    try:
        existing = {entry.name for entry in os.scandir(folder)}
    except (FileNotFoundError, NotADirectoryError):
        return
    if not existing:
        return
    for seed in seeds:
        name = sample_name(seed, suffix)
        if name in existing:
            refuse_foreign(folder / name, option="output folder")


def _save_batch(
    medium: Any,
    items: list[Any],
    seeds: list[int],
    folder: Path,
    suffix: str,
    provenance: dict[str, Any],
    audio: bool,
) -> list[tuple[Path, int]]:
    from artkit.media import save

    written = []
    for item, seed in zip(items, seeds, strict=True):
        # the medium may pick its own suffix: the path returned is the file it wrote
        path = save(
            medium,
            item,
            folder / sample_name(seed, suffix),
            {**provenance, "seed": seed},
            audio=audio,
            durable=False,
        )
        written.append((path, seed))
    return written


def write_samples(
    model: Model,
    seeds: Iterable[int],
    folder: str | os.PathLike[str],
    provenance: dict[str, Any],
    *,
    suffix: str | None = None,
    truncation: float = 1.0,
    batch_size: int = 64,
    audio: bool = False,
    workers: int | None = None,
    on_batch: Callable[[list[Any]], None] | None = None,
    **options: Any,
) -> Generator[tuple[Path, int], None, None]:
    """Write one file per seed into ``folder``; yield ``(path, seed)`` as each file exists.

    ``seeds``: a collection (a list, a ``range``, parsed seed ranges) is checked
    against the files already in the folder before anything is written
    (:func:`check_targets`); an iterator can be read only once, so its seeds are
    checked a batch at a time. ``provenance`` goes into every file, with its ``seed``.
    ``suffix``: ``.png`` (``.webp``, ``.jpg``) for images, by default the medium's
    first. ``on_batch`` sees each batch's items as they are generated (the CLI keeps
    the first ones for a contact sheet). Other keyword arguments go to the model's
    sampler, as for :meth:`Model.batches`.

    The folder and the seeds are checked when this is called (one-line errors); the
    files are written as the returned iterator is read.
    """
    from artkit.media import check_audio, medium_of

    medium = medium_of(model.net)
    if audio:
        check_audio(medium)
    suffix = suffix or medium.suffixes[0]
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder; choose another output folder")
    whole = iter(seeds) is not seeds  # a collection, which can be read twice
    if whole:
        check_targets(out, seeds, suffix)
    out.mkdir(parents=True, exist_ok=True)
    count = max(1, min(MAX_WORKERS, workers or os.cpu_count() or 2))

    def stream() -> Generator[tuple[Path, int], None, None]:
        # the checks above ran on the call; the files are written as the caller reads
        from concurrent.futures import Future, ThreadPoolExecutor

        pending: deque[Future] = deque()

        def done(limit: int) -> Iterator[tuple[Path, int]]:
            while len(pending) > limit:
                yield from pending.popleft().result()

        with ThreadPoolExecutor(count) as pool:
            for batch, items in model.batches(seeds, truncation, batch_size, **options):
                if not whole:  # an iterator's seeds, a batch at a time
                    check_targets(out, batch, suffix)
                if on_batch is not None:
                    on_batch(items)
                pending.append(
                    pool.submit(_save_batch, medium, items, batch, out, suffix, provenance, audio)
                )
                yield from done(count)  # bounded: generation runs ahead by a few batches
            yield from done(0)

    return stream()
