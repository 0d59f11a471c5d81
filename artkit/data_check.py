"""Check a dataset before training on it: broken files, duplicates, tiny and odd images.

:func:`check_dataset` (what ``artkit data check DATASET`` runs) reads every file of a
``folder`` dataset once -- in threads, since Pillow and hashlib release the GIL -- and
reports:

- **unreadable** files: empty, not an image, truncated or corrupt, too large to decode;
- **exact duplicates**: files with the same bytes (SHA-256), grouped;
- **near-duplicates**: files whose perceptual hash (a 64-bit DCT hash of a 32x32
  greyscale thumbnail, "pHash") differs in at most ``threshold`` bits and whose mean
  colours and thumbnails are close, grouped transitively (union-find); copies of one
  picture resized or re-encoded as JPEG land here. Exact duplicates are collapsed first, so a pair of
  identical files is reported once, as exact;
- **tiny** images: shorter side below half the training resolution, so the model
  would see them upscaled more than twice;
- **odd modes**: anything but L, RGB and RGBA (CMYK, palettes, 16-bit, 1-bit, LA...)
  and animated files (only the first frame is trained on). Reported, never dropped.

:func:`write_exclude` writes the files worth dropping (unreadable, tiny, and all but
one of every duplicate group) as an exclude list that ``folder:path=DIR,exclude=FILE``
reads (:func:`read_exclude`). Nothing here ever writes into the data folder.

Other datasets (``shapes``, ``glyphs``, ``idx``...) are generated or decoded from one
file, so only the duplicate checks apply; they run on the decoded items.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from artkit.errors import UsageError

__all__ = [
    "DEFAULT_THRESHOLD",
    "EXCLUDE_HEADER",
    "DataCheck",
    "check_arrays",
    "check_dataset",
    "check_exclude_target",
    "check_folder",
    "exclude_digest",
    "read_exclude",
    "scan_folder",
    "write_exclude",
]

#: near-duplicate threshold: differing bits of the 64-bit perceptual hash. Measured on
#: 2,000 random shape drawings (64-128 px) and copies of 300 of them resized to 40-90%
#: and re-encoded as JPEG q=70: 297 copies were within 6 bits of their original, 299
#: within 12; unrelated drawings are ~20-40 bits apart, but flat, low-contrast ones can
#: collide (391 of the 2 million pairs within 12), which the two checks below reject
DEFAULT_THRESHOLD = 12
#: a pair within the threshold is confirmed only if the mean colours agree within this
#: much (per channel, of 255; the copies above stayed within 4): a recoloured layout is
#: another picture, and the hash, blind to contrast, cannot tell
MAX_COLOUR_SHIFT = 16.0
#: ... and if the greyscale thumbnails differ by at most this much on average (of 255;
#: the copies above stayed within 8). Together: no false pair among those 2 million
MAX_THUMB_DIFF = 12.0
#: side of the greyscale thumbnail the perceptual hash is computed from
HASH_SIDE = 32
#: first line of every exclude list artkit writes; a file that starts otherwise is not ours
EXCLUDE_HEADER = "# artkit exclude list"
#: largest exclude file read (a list of paths, not a dataset)
MAX_EXCLUDE_BYTES = 16 * 1024 * 1024
#: files above this are hashed in chunks and decoded from disk rather than held in memory
MAX_IN_MEMORY = 64 * 1024 * 1024
#: the suffixes the folder dataset reads (artkit.images.IMAGE_SUFFIXES)
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
#: below this many files inspection stays on the calling thread
PARALLEL_THRESHOLD = 8
#: hashes compared per block in the all-pairs search (block x N distances in memory) ...
PAIR_BLOCK = 512
#: ... and fewer for big N: at most this many distances (8 bytes each) at once
PAIR_CELLS = 1 << 22
_NORMAL_MODES = ("L", "RGB", "RGBA")


# --------------------------------------------------------------------------- the report


@dataclass
class DataCheck:
    """What :func:`check_dataset` found. Paths are relative to the folder (or item labels).

    ``exact`` and ``near`` are groups whose first member is the one to keep (exact:
    the first by path; near: the most pixels, then the first by path); ``near``
    members come with their hash distance to the kept one.
    """

    dataset: str
    root: str | None
    checked: int
    resolution: int
    threshold: int
    min_side: int
    checks: list[str]
    excluded: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    exact: list[list[str]] = field(default_factory=list)
    near: list[list[tuple[str, int]]] = field(default_factory=list)
    tiny: list[tuple[str, int, int]] = field(default_factory=list)
    odd: list[tuple[str, str]] = field(default_factory=list)

    def drops(self) -> dict[str, str]:
        """``{path: why}`` for every file worth excluding, in report order (first reason wins)."""
        out: dict[str, str] = {}
        for rel, why in self.unreadable:
            out.setdefault(rel, f"unreadable: {why}")
        for rel, w, h in self.tiny:
            out.setdefault(rel, f"tiny: {w}x{h}, shorter side below {self.min_side} px")
        for group in self.exact:
            for rel in group[1:]:
                out.setdefault(rel, f"exact duplicate of {group[0]}")
        for near in self.near:
            keep = near[0][0]
            for rel, d in near[1:]:
                out.setdefault(rel, f"near-duplicate of {keep} (distance {d})")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able values (what ``--json`` prints)."""
        drops = self.drops()
        return {
            "dataset": self.dataset,
            "root": self.root,
            "checked": self.checked,
            "checks": self.checks,
            "resolution": self.resolution,
            "min_side": self.min_side,
            "threshold": self.threshold,
            "excluded": len(self.excluded),
            "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable],
            "exact_duplicates": [{"keep": g[0], "drop": g[1:]} for g in self.exact],
            "near_duplicates": [
                {"keep": g[0][0], "drop": [{"path": p, "distance": d} for p, d in g[1:]]}
                for g in self.near
            ],
            "tiny": [{"path": p, "width": w, "height": h} for p, w, h in self.tiny],
            "odd_modes": [{"path": p, "mode": m} for p, m in self.odd],
            "drop": [{"path": p, "reason": r} for p, r in drops.items()],
        }


# --------------------------------------------------------------------------- exclude files


def read_exclude(file: str | os.PathLike[str], owner: str = "exclude file") -> list[str]:
    """The entries of an exclude list: relative POSIX paths, normalised, in file order.

    One path per line, relative to the dataset folder; blank lines and lines that
    start with ``#`` are skipped and surrounding spaces are stripped (so a file
    whose name starts with ``#`` is written ``./#name``). An absolute path or one
    that climbs out with ``..`` is an error: such a list was made for another folder.
    """
    path = Path(file).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UsageError(f"{owner}: {str(path)!r} is not a file")
        if size > MAX_EXCLUDE_BYTES:
            raise UsageError(
                f"{owner}: {str(path)!r} is {size:,} bytes; an exclude list may hold "
                f"at most {MAX_EXCLUDE_BYTES:,}"
            )
        with open(path, "rb") as fh:
            data = fh.read(MAX_EXCLUDE_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{owner}: {str(path)!r} does not exist") from None
    except OSError as exc:
        from artkit.errors import describe_os_error

        raise UsageError(f"{owner}: {describe_os_error(exc)}") from None
    if b"\0" in data:
        raise UsageError(f"{owner}: {str(path)!r} is not a text file (one path a line)")
    # surrogateescape: names that are not UTF-8 match what os.walk reports for them
    text = data.decode("utf-8", "surrogateescape")
    entries: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = PurePosixPath(line)
        if entry.is_absolute() or ".." in entry.parts or line.startswith("~"):
            from artkit.errors import printable

            raise UsageError(
                f"{owner}: {str(path)!r} line {number}: {printable(line)!r} is outside the "
                "folder; list paths relative to it, without '..'"
            )
        if entry.parts:  # "." alone names nothing
            entries[entry.as_posix()] = None
    return list(entries)


def exclude_digest(entries: Sequence[str]) -> str:
    """A short hash of an exclude list's entries (order and comments do not matter)."""
    h = hashlib.sha256(b"artkit-exclude-v1\0")
    for entry in sorted(set(entries)):
        h.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()[:16]


def check_exclude_target(file: str | os.PathLike[str]) -> Path:
    """``file`` as a path an exclude list may be written to, or a one-line UsageError.

    Absent, empty, or an exclude list artkit wrote (its first line is
    :data:`EXCLUDE_HEADER`): anything else is someone's file and is left alone.
    """
    target = Path(file).expanduser()
    if target.is_dir():
        raise UsageError(f"--write-exclude {str(target)!r} is a folder; name a file")
    try:
        with open(target, "rb") as fh:
            first = fh.readline(4096)
    except FileNotFoundError:
        return target
    except OSError as exc:
        from artkit.errors import describe_os_error

        raise UsageError(f"--write-exclude: {describe_os_error(exc)}") from None
    if first and not first.startswith(EXCLUDE_HEADER.encode()):
        raise UsageError(
            f"{target} exists and was not written by artkit; remove it or choose another "
            "--write-exclude file"
        )
    return target


def write_exclude(report: DataCheck, file: str | os.PathLike[str]) -> Path:
    """Write the files worth dropping as an exclude list; returns its path.

    Each path is preceded by a ``#`` line saying why. Entries already excluded by
    the checked spec (``exclude=``) are kept, so the new list replaces the old one.
    Refuses (one line) to replace a file that is not an exclude list artkit wrote
    (:func:`check_exclude_target`), and to write one for a dataset without files.
    """
    from datetime import UTC, datetime

    from artkit.atomic import atomic_write_bytes

    if report.root is None:
        raise UsageError(
            f"{report.dataset}: exclude lists are for folder datasets; this one has no files"
        )
    target = check_exclude_target(file)
    drops = report.drops()
    counts = _drop_counts(report)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"{EXCLUDE_HEADER} (written by `artkit data check`; edit freely, keep this line first)",
        f"# dataset: {_one_line(report.dataset)}",
        f"# checked {report.checked} files at {when}: {counts}",
        "# use it with folder:path=DIR,exclude=THIS_FILE; paths are relative to DIR",
    ]
    for rel, why in [*drops.items(), *((r, "excluded before") for r in report.excluded)]:
        if "\n" in rel or "\r" in rel or rel != rel.strip():
            # a name an exclude list cannot spell; say so in the file
            lines.append(f"# cannot list a file whose name has line breaks or edge spaces: {rel!r}")
            continue
        lines.append(f"# {_one_line(why)}")
        lines.append(f"./{rel}" if rel.startswith("#") else rel)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    return atomic_write_bytes(target, data)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _drop_counts(report: DataCheck) -> str:
    parts = [
        f"{len(report.unreadable)} unreadable",
        f"{len(report.tiny)} tiny",
        f"{sum(len(g) - 1 for g in report.exact)} exact duplicates",
        f"{sum(len(g) - 1 for g in report.near)} near-duplicates",
    ]
    return ", ".join(parts)


# --------------------------------------------------------------------------- folders


def scan_folder(root: str | os.PathLike[str], recursive: bool = True) -> list[str]:
    """Relative POSIX paths of the image files the ``folder`` dataset reads, sorted.

    The same rules as the dataset: image suffixes (any case), hidden files and
    folders (``.name``) ignored, symlinked folders followed once each.
    """
    root = Path(root)
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            if os.path.isfile(full):  # follows links: a dangling one is skipped
                found.append(Path(os.path.relpath(full, root)).as_posix())
    found.sort()
    return found


@dataclass
class _File:
    """One file's facts, gathered in a single read."""

    rel: str
    sha256: str | None = None
    error: str | None = None
    width: int = 0
    height: int = 0
    mode: str = ""
    odd: str | None = None
    thumb: Any = None  # float32 (HASH_SIDE, HASH_SIDE) greyscale
    colour: Any = None  # float32 (3,) mean RGB


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _inspect(root: Path, rel: str) -> _File:
    """Read ``root/rel`` once: its SHA-256, header facts and a hash thumbnail."""
    from PIL import Image, UnidentifiedImageError

    f = _File(rel)
    path = root / rel
    try:
        size = path.stat().st_size
        if size == 0:
            f.error = "empty file (0 bytes)"
            return f
        if size <= MAX_IN_MEMORY:
            with open(path, "rb") as fh:
                data = fh.read()
            f.sha256 = hashlib.sha256(data).hexdigest()
            source: Any = io.BytesIO(data)
        else:  # hash in chunks, let Pillow read the file itself
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            f.sha256 = h.hexdigest()
            source = path
    except OSError as exc:
        from artkit.errors import describe_os_error

        f.error = describe_os_error(exc)
        return f
    try:
        with Image.open(source) as im:
            f.width, f.height, f.mode = im.width, im.height, im.mode
            limit = Image.MAX_IMAGE_PIXELS
            if limit and im.width * im.height > limit:
                f.error = (
                    f"too large to decode safely ({im.width}x{im.height}, limit {limit:,} pixels)"
                )
                return f
            f.odd = _odd_mode(im)
            orientation = _orientation(im)
            # JPEG: decode at a reduced scale (still parsing every byte, so a truncated
            # file still fails); others decode fully, which is what catches corruption
            im.draft(None, (2 * HASH_SIDE, 2 * HASH_SIDE))
            im.load()
            f.thumb, f.colour = _thumbnail(im, orientation)
    except UnidentifiedImageError:
        f.error = "not an image (Pillow cannot identify it)"
    except Exception as exc:  # any decoder failure means "unreadable"
        f.error = _reason(exc)
    return f


def _odd_mode(im: Any) -> str | None:
    """Why this image's mode or frames are unusual for training, or None."""
    notes = []
    if im.mode not in _NORMAL_MODES:
        mode = im.mode
        if mode == "P":
            mode = "P (palette, with transparency)" if "transparency" in im.info else "P (palette)"
        elif mode == "1":
            mode = "1 (1-bit)"
        elif mode.startswith("I;16"):
            mode = f"{mode} (16-bit)"
        notes.append(mode)
    if getattr(im, "is_animated", False):  # GIF, APNG, WebP; multi-page TIFF too
        frames = getattr(im, "n_frames", "several")
        notes.append(f"animated or multi-page ({frames} frames; only the first is used)")
    return ", ".join(notes) or None


def _orientation(im: Any) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))  # ExifTags.Base.Orientation
    except Exception:  # a broken EXIF block does not lose the picture
        return 1


def _thumbnail(im: Any, orientation: int = 1) -> tuple[Any, Any]:
    """A HASH_SIDE x HASH_SIDE float32 greyscale thumbnail and the mean RGB colour.

    Transparency is flattened onto white, 16-bit and float images scaled to 0..255
    (as the folder dataset does), EXIF orientation applied.
    """
    import numpy as np
    from PIL import Image

    side = (HASH_SIDE, HASH_SIDE)
    box = Image.Resampling.BOX
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        wide = im.mode.startswith("I;16")
        small = im.convert("I").convert("F") if im.mode != "F" else im
        arr = np.asarray(small.resize(side, box), dtype=np.float64)
        top = 65535.0 if wide or (arr.size and arr.max() > 255) else 255.0
        if im.mode == "F":
            top = 1.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 255.0
        grey = np.nan_to_num(arr / top * 255.0).astype(np.float32)
        grey = _transpose(grey, orientation)
        return grey, np.full(3, grey.mean(), dtype=np.float32)
    alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if alpha:
        im = im.convert("RGBA")
    elif im.mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, P, 1, LAB, HSV...
    small = im.resize(side, box, reducing_gap=None)
    if alpha:
        flat = Image.new("RGBA", side, (255, 255, 255, 255))
        flat.alpha_composite(small)
        small = flat.convert("RGB")
    rgb = np.asarray(small.convert("RGB"), dtype=np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    grey = _transpose(grey, orientation)
    return grey, rgb.reshape(-1, 3).mean(axis=0)


def _transpose(arr: Any, orientation: int) -> Any:
    """Apply an EXIF orientation (2-8) to a 2-D array, as Pillow's exif_transpose would."""
    import numpy as np

    ops: dict[int, Callable[[Any], Any]] = {
        2: np.fliplr,
        3: lambda a: np.rot90(a, 2),
        4: np.flipud,
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).T,
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_folder(
    path: str | os.PathLike[str],
    *,
    recursive: bool = True,
    exclude: str | os.PathLike[str] | None = None,
    resolution: int = 64,
    threshold: int = DEFAULT_THRESHOLD,
    workers: int | None = None,
    dataset: str | None = None,
) -> DataCheck:
    """Check the image files under ``path`` (the ``folder`` dataset's files); reads only.

    ``exclude`` is an exclude list (:func:`read_exclude`); its files are not checked.
    ``resolution`` is the training resolution: images whose shorter side is below half
    of it are reported as tiny. ``threshold`` is the near-duplicate bit distance (0-64).
    """
    _check_options(resolution, threshold)
    root = Path(path).expanduser()
    if not root.exists():
        raise UsageError(f"folder {str(path)!r} does not exist")
    if not root.is_dir():
        raise UsageError(f"{str(path)!r} is a file, not a folder of images")
    rels = scan_folder(root, recursive)
    # _inspect reports oversized files itself; Pillow's warning (from worker threads,
    # where catch_warnings cannot reach) would only repeat it -- as the folder dataset does
    import warnings

    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    excluded: list[str] = []
    if exclude:
        drop = set(read_exclude(exclude))
        excluded = [r for r in rels if r in drop]
        rels = [r for r in rels if r not in drop]
    if workers is None:
        workers = _cpu_count()
    if workers > 1 and len(rels) >= PARALLEL_THRESHOLD:
        with ThreadPoolExecutor(max_workers=min(workers, len(rels))) as pool:
            files = list(pool.map(lambda rel: _inspect(root, rel), rels))
    else:
        files = [_inspect(root, rel) for rel in rels]

    report = DataCheck(
        dataset=dataset or f"folder:path={path}",
        root=str(root),
        checked=len(files),
        resolution=resolution,
        threshold=threshold,
        min_side=_min_side(resolution),
        checks=["unreadable", "exact", "near", "tiny", "odd"],
        excluded=excluded,
    )
    good = [f for f in files if f.error is None]
    report.unreadable = [(f.rel, f.error) for f in files if f.error is not None]
    report.tiny = [
        (f.rel, f.width, f.height) for f in good if min(f.width, f.height) < report.min_side
    ]
    report.odd = [(f.rel, f.odd) for f in good if f.odd]
    report.exact, report.near = _duplicates(
        [f.rel for f in good],
        [f.sha256 for f in good],
        [f.thumb for f in good],
        [f.colour for f in good],
        [f.width * f.height for f in good],
        threshold,
        workers,
    )
    return report


def _min_side(resolution: int) -> int:
    """Shorter sides below this are "tiny": upscaled more than twice to the resolution."""
    return (resolution + 1) // 2


def _check_options(resolution: int, threshold: int) -> None:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise UsageError(f"--resolution {resolution} must be at least 1")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 64:
        raise UsageError(f"--threshold {threshold} must be between 0 and 64 (bits of 64)")


# --------------------------------------------------------------------------- duplicates


def perceptual_hashes(thumbs: Any) -> Any:
    """64-bit DCT hashes (uint64) of greyscale thumbnails ``(N, HASH_SIDE, HASH_SIDE)``.

    The 8x8 lowest frequencies of the 2-D DCT, each bit set where the coefficient is
    above their median: coarse structure, indifferent to resizing and JPEG noise.
    """
    import numpy as np

    x = np.asarray(thumbs, dtype=np.float32).reshape(-1, HASH_SIDE, HASH_SIDE)
    n = HASH_SIDE
    k = np.arange(n)
    dct = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)).astype(np.float32)
    low = dct[:8]  # (8, n): only the lowest frequencies are needed
    coeffs = np.einsum("ij,bjk,lk->bil", low, x, low).reshape(len(x), 64)
    bits = coeffs > np.median(coeffs, axis=1, keepdims=True)
    packed = np.packbits(bits, axis=1)  # (N, 8) bytes, big-endian bit order
    return packed.view(">u8").reshape(-1).astype(np.uint64)


def _popcount(x: Any) -> Any:
    import numpy as np

    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1, dtype=np.uint8)


def near_pairs(
    hashes: Any,
    threshold: int,
    accept: Callable[[Any, Any], Any] | None = None,
    workers: int | None = None,
) -> tuple[Any, Any, Any]:
    """``(i, j, distance)`` arrays of every pair i < j within ``threshold`` bits.

    All pairs, in blocks of rows against the rest (vectorised XOR and popcount, in
    ``workers`` threads: numpy releases the GIL): 10,000 hashes take about a second
    on 2 cores; the cost grows as N squared. ``accept(i, j)`` (index arrays -> bool
    mask), if given, confirms the candidates block by block, so a dataset of
    look-alikes never holds all its candidate pairs at once.
    """
    import numpy as np

    hashes = np.asarray(hashes, dtype=np.uint64)
    rows = max(1, min(PAIR_BLOCK, PAIR_CELLS // max(1, len(hashes))))

    def block(start: int) -> tuple[Any, Any, Any]:
        dist = _popcount(hashes[start : start + rows, None] ^ hashes[None, start:])
        ii, jj = np.nonzero(dist <= threshold)
        keep = jj > ii  # the block against itself: each pair once, no self-pairs
        ii, jj = ii[keep], jj[keep]
        d = dist[ii, jj]
        ii, jj = ii + start, jj + start
        if accept is not None and len(ii):
            ok = np.concatenate(
                [accept(ii[k : k + 4096], jj[k : k + 4096]) for k in range(0, len(ii), 4096)]
            )
            ii, jj, d = ii[ok], jj[ok], d[ok]
        return ii, jj, d

    starts = range(0, len(hashes), rows)
    workers = min(workers or _cpu_count(), len(starts))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(block, starts))
    else:
        found = [block(start) for start in starts]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    ii, jj, d = (np.concatenate(part).astype(np.int64) for part in zip(*found, strict=True))
    return ii, jj, d


def _duplicates(
    names: list[str],
    digests: list[Any],
    thumbs: list[Any],
    colours: list[Any],
    pixels: list[int],
    threshold: int,
    workers: int | None = None,
) -> tuple[list[list[str]], list[list[tuple[str, int]]]]:
    """Exact groups (same digest) and near groups among their representatives."""
    import numpy as np

    by_digest: dict[Any, list[int]] = {}
    for k, digest in enumerate(digests):
        by_digest.setdefault(digest, []).append(k)
    exact = [sorted(names[k] for k in ks) for ks in by_digest.values() if len(ks) > 1]
    exact.sort()
    # one representative per distinct content: the first by name
    reps = sorted(
        (min(ks, key=lambda k: names[k]) for ks in by_digest.values()), key=names.__getitem__
    )
    if len(reps) < 2:
        return exact, []
    grey = np.stack([thumbs[k] for k in reps]).astype(np.float32)
    mean = np.stack([colours[k] for k in reps]).astype(np.float32)
    hashes = perceptual_hashes(grey)

    def confirm(i: Any, j: Any) -> Any:
        """Same colours and same thumbnails, not just the same coarse layout."""
        colour = np.abs(mean[i] - mean[j]).max(axis=1) <= MAX_COLOUR_SHIFT
        return colour & (np.abs(grey[i] - grey[j]).mean(axis=(1, 2)) <= MAX_THUMB_DIFF)

    ii, jj, _ = near_pairs(hashes, threshold, confirm, workers)

    parent = list(range(len(reps)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(ii.tolist(), jj.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for a in range(len(reps)):
        groups.setdefault(find(a), []).append(a)
    near: list[list[tuple[str, int]]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        # keep the largest picture (the likely original), then the first by name
        members.sort(key=lambda a: (-pixels[reps[a]], names[reps[a]]))
        keep = members[0]
        dist = _popcount(hashes[members] ^ hashes[keep]).astype(int).tolist()
        near.append([(names[reps[a]], d) for a, d in zip(members, dist, strict=True)])
    near.sort(key=lambda g: g[0][0])
    return exact, near


# --------------------------------------------------------------------------- other datasets


def check_arrays(
    items: Sequence[Any],
    labels: Sequence[str] | None = None,
    *,
    dataset: str = "",
    resolution: int | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> DataCheck:
    """Exact and near duplicates among decoded uint8 items ``(H, W, C)`` (or ``(H, W)``).

    For datasets without files of their own (generated, or decoded from one file):
    unreadable, tiny and odd-mode checks do not apply.
    """
    import numpy as np
    from PIL import Image

    names = list(labels) if labels is not None else [f"#{i}" for i in range(len(items))]
    if len(set(names)) != len(names):  # reports are keyed by name: make them unique
        names = [f"{name} #{i}" for i, name in enumerate(names)]
    digests, thumbs, colours, pixels = [], [], [], []
    for item in items:
        arr = np.ascontiguousarray(np.asarray(item, dtype=np.uint8))
        digests.append(hashlib.sha256(repr(arr.shape).encode() + arr.tobytes()).digest())
        arr3 = arr if arr.ndim == 3 else arr[:, :, None]
        rgb = arr3[..., :3] if arr3.shape[-1] >= 3 else np.repeat(arr3[..., :1], 3, axis=-1)
        small = Image.fromarray(np.ascontiguousarray(rgb), "RGB").resize(
            (HASH_SIDE, HASH_SIDE), Image.Resampling.BOX
        )
        thumb, colour = _thumbnail(small)
        thumbs.append(thumb)
        colours.append(colour)
        pixels.append(arr.shape[0] * arr.shape[1])
    side = resolution or (int(np.asarray(items[0]).shape[0]) if len(items) else 0)
    _check_options(max(side, 1), threshold)
    report = DataCheck(
        dataset=dataset,
        root=None,
        checked=len(names),
        resolution=side,
        threshold=threshold,
        min_side=_min_side(max(side, 1)),
        checks=["exact", "near"],
    )
    report.exact, report.near = _duplicates(names, digests, thumbs, colours, pixels, threshold)
    return report


def check_dataset(
    spec: str,
    *,
    resolution: int = 64,
    channels: int = 3,
    threshold: int = DEFAULT_THRESHOLD,
    workers: int | None = None,
) -> DataCheck:
    """Check the dataset a spec names (``folder:path=art/``, ``shapes:count=64``...).

    A ``folder`` dataset is checked file by file on disk, honouring its ``path``,
    ``recursive`` and ``exclude`` options; any other dataset is built at
    ``resolution`` x ``channels`` and its items checked for duplicates.
    """
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    _check_options(resolution, threshold)
    name, options = parse_spec(spec)
    entry = get_registry("datasets").get(name)
    if entry.name == "folder":
        bound = entry.bind(options)  # typed and validated, as training would
        return check_folder(
            bound["path"],
            recursive=bound.get("recursive", True),
            exclude=bound.get("exclude") or None,
            resolution=resolution,
            threshold=threshold,
            workers=workers,
            dataset=spec,
        )
    if channels not in (1, 3, 4):
        raise UsageError(f"--channels {channels} must be 1 (grey), 3 (RGB) or 4 (RGBA)")
    source = entry.create(options, resolution=resolution, channels=channels)
    items = [source[i] for i in range(len(source))]
    return check_arrays(
        items, _labels(source, len(items)), dataset=spec, resolution=resolution, threshold=threshold
    )


def _labels(source: Any, n: int) -> list[str] | None:
    """Item names as ``artkit data preview --labels`` shows them: ``label(i)`` or ``files``."""
    label = getattr(source, "label", None)
    if callable(label):
        try:
            return [str(label(i)) for i in range(n)]
        except Exception:  # a source's own naming is a nicety, not worth failing over
            pass
    files = getattr(source, "files", None)
    return [str(f) for f in files] if isinstance(files, list) and len(files) == n else None
