"""``paired`` and ``side-by-side``: (A, B) image pairs for translation models such as pix2pix.

- ``paired:a=DIR,b=DIR``: two folders whose files pair up by relative name without
  the suffix (``a/0001.jpg`` with ``b/0001.png``). Files without a partner are
  reported in one line on stderr and left out.
- ``side-by-side:path=DIR``: each image holds A and B next to each other, as the
  pix2pix datasets (facades, maps, edges2shoes) ship; ``direction=BtoA`` swaps them.

Layout. A pair is one array with A's channels followed by B's: a translation
model asks for ``channels`` = 2, 6 or 8 (two grey, RGB or RGBA halves) and gets
``(R, R, 2c)`` items -- so the trainer's batching and its ``--data-augment``
flips, quarter turns and crops move A and B together. Asked for 1, 3 or 4
channels (``artkit data info`` / ``preview``, which build RGB by default), the
items are A | B side by side, ``(R, 2R, c)``, for looking at the pairs.

Each half is decoded like a ``folder`` image (upright, squared by ``fit``,
Lanczos, transparency flattened onto ``background`` below 4 channels), in
parallel threads, and the stacked array is kept in the decoded-dataset cache.
Unreadable files are skipped (with their partner) and reported once.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, UnidentifiedImageError

from artkit.data import DecodedImages, resolution_value
from artkit.errors import ImageError, UsageError

from .configs import check_geometry
from .folder import (
    _MODES,
    PARALLEL_THRESHOLD,
    REDUCING_GAP,
    _cpu_count,
    _fit,
    _reason,
    _scan,
    _upright,
    _working_mode,
)
from .paired_configs import PairedConfig, SideBySideConfig

#: channel counts a translation model asks for: two grey, RGB or RGBA halves stacked
STACKED = {2: 1, 6: 3, 8: 4}


def pair_layout(owner: str, resolution: object, channels: object) -> tuple[int, bool]:
    """``(channels per half, stacked)`` for the channels a caller asks for."""
    check_geometry(owner, resolution, 3)  # "HxW" sizes too; channels are checked here
    if isinstance(channels, int) and not isinstance(channels, bool):
        if channels in STACKED:
            return STACKED[channels], True
        if channels in _MODES:
            return channels, False
    raise UsageError(
        f"{owner}: channels={channels!r}: use 2, 6 or 8 (A and B stacked, as pix2pix:task=paired asks) "
        "or 1, 3, 4 (A | B side by side, for looking at the pairs)"
    )


def _to_array(im: Image.Image, channels: int, bg: tuple[int, int, int]) -> Any:
    import numpy as np

    if im.mode == "RGBA" and channels != 4:
        flat = Image.new("RGBA", im.size, (*bg, 255))
        flat.alpha_composite(im)
        im = flat.convert(_MODES[channels])
    elif im.mode != _MODES[channels]:
        im = im.convert(_MODES[channels])
    return np.asarray(im, dtype=np.uint8).reshape(im.height, im.width, channels)


def _open(path: Path, channels: int, draft: int) -> Image.Image:
    with Image.open(path) as im:
        im.draft(None, (draft, draft))  # JPEG: decode at a reduced scale, much faster
        im.load()
        return _working_mode(_upright(im), channels)


class _HalfError(Exception):
    """One file of a pair could not be read; the message names it."""


def _decode(job: Callable[[], tuple[Any, Any]]) -> tuple[Any, Any] | str:
    """Run a decoding job; the reason it failed instead of an exception."""
    try:
        return job()
    except _HalfError as exc:
        return str(exc)
    except UnidentifiedImageError:
        return "cannot identify image file"
    except Exception as exc:  # any decoder failure means "skip this pair"
        return _reason(exc)


class _PairSource(DecodedImages):
    """Shared by both datasets: decoding in threads, the cache, the two layouts."""

    owner = "paired dataset"
    resolution: int | str
    #: (height, width) of each half
    size: tuple[int, int]
    channels: int
    half: int
    stacked: bool
    fit: str
    bg: tuple[int, int, int]
    #: the name of each pair, in order (relative path without suffix)
    names: list[str]
    #: (name, why) of every pair that could not be read
    skipped: list[tuple[str, str]]

    def _setup(self, resolution: int, channels: int, fit: str, background: str) -> None:
        self.half, self.stacked = pair_layout(self.owner, resolution, channels)
        self.size = check_geometry(self.owner, resolution, 3)
        self.resolution, self.channels, self.fit = resolution_value(*self.size), channels, fit
        self.bg = ImageColor.getrgb(background.strip())[:3]

    def _load_all(
        self,
        keys: list[str],
        load_one: Callable[[str], tuple[Any, Any]],
        *,
        workers: int | None,
        cache: bool,
    ) -> None:
        """Decode every pair (through the cache) into ``self.images`` in the chosen layout."""
        import numpy as np

        r, c = self.resolution, self.half

        def build() -> tuple[Any, dict[str, Any]]:
            stacked = np.empty((len(keys), *self.size, 2 * c), dtype=np.uint8)

            def job(k: int) -> str | None:
                result = _decode(lambda: load_one(keys[k]))
                if isinstance(result, str):
                    return result
                stacked[k, ..., :c], stacked[k, ..., c:] = result
                return None

            count = workers if workers is not None else _cpu_count()
            if count > 1 and len(keys) >= PARALLEL_THRESHOLD:
                with ThreadPoolExecutor(max_workers=min(count, len(keys))) as pool:
                    failures = list(pool.map(job, range(len(keys))))
            else:
                failures = [job(k) for k in range(len(keys))]
            if any(failures):
                stacked = stacked[[why is None for why in failures]]
            kept = [k for k, why in zip(keys, failures, strict=True) if why is None]
            skipped = [[k, why] for k, why in zip(keys, failures, strict=True) if why is not None]
            return stacked, {"names": kept, "skipped": skipped}

        if cache:
            from artkit.dataset_cache import cached

            array, meta, self.cache_hit = cached(self.kind, self._fingerprint, r, 2 * c, build)
            if not isinstance(meta.get("names"), list) or len(meta["names"]) != len(array):
                array, meta = build()  # a hand-edited entry: decode
        else:
            array, meta = build()
            self.cache_hit = False
        self.names = list(meta["names"])
        self.skipped = [(str(k), str(why)) for k, why in meta.get("skipped", [])]
        if not self.names:
            first, why = self.skipped[0]
            raise ImageError(
                f"{self.owner}: none of the {len(keys)} pairs could be read (first: {first}: {why})"
            )
        if self.skipped:
            first, why = self.skipped[0]
            print(
                f"artkit: warning: {self.owner}: skipped {len(self.skipped)} of {len(keys)} pairs "
                f"that could not be read (first: {first}: {why})",
                file=sys.stderr,
            )
        self.images = array if self.stacked else np.concatenate([array[..., :c], array[..., c:]], 2)

    def _shaped(self, im: Image.Image) -> Any:
        return _to_array(_fit(im, self.size, self.fit, self.bg), self.half, self.bg)

    def pair(self, index: int) -> tuple[Any, Any]:
        """Pair ``index`` as two uint8 arrays ``(H, W, c)``: A and B."""
        item = self[index]
        c = self.half
        if self.stacked:
            return item[..., :c], item[..., c:]
        w = self.size[1]
        return item[:, :w], item[:, w:]

    def label(self, index: int) -> str:
        return self.names[index]

    def summary(self) -> dict[str, Any]:
        """Extra facts for ``artkit data info``."""
        return {"pairs": len(self.names), "layout": "stacked" if self.stacked else "side by side"}


class PairedDataset(_PairSource):
    """Two folders paired by file name: items hold A then B (see the module docstring)."""

    kind = "paired"
    owner = "paired dataset"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        a: str,
        b: str,
        recursive: bool = True,
        fit: str = "crop",
        background: str = "white",
        workers: int | None = None,
        cache: bool = True,
    ):
        self.config = PairedConfig(a=a, b=b, recursive=recursive, fit=fit, background=background)
        self._setup(resolution, channels, fit, background)
        roots = []
        for name, folder in (("a", a), ("b", b)):
            root = Path(folder).expanduser()
            if not root.is_dir():
                what = "is a file, not a folder" if root.exists() else "does not exist"
                raise UsageError(f"{self.owner}: {name}={folder!r} {what}")
            roots.append(root)
        self.roots = roots
        files_a, files_b = (
            self._index(root, folder, recursive) for root, folder in zip(roots, (a, b), strict=True)
        )
        keys = sorted(set(files_a) & set(files_b))
        only_a = sorted(set(files_a) - set(files_b))
        only_b = sorted(set(files_b) - set(files_a))
        if not keys:
            raise UsageError(
                f"{self.owner}: no file names match between a={a!r} ({len(files_a)} images, first: "
                f"{_first(files_a)}) and b={b!r} ({len(files_b)} images, first: {_first(files_b)}); "
                "pairs share a name, e.g. a/0001.jpg and b/0001.png"
            )
        #: names of images in A without a partner in B, and the other way round
        self.unpaired = (only_a, only_b)
        if only_a or only_b:
            parts = []
            if only_a:
                parts.append(
                    f"{len(only_a)} of {len(files_a)} in a={a!r} have no partner in b "
                    f"(first: {files_a[only_a[0]][0]})"
                )
            if only_b:
                parts.append(
                    f"{len(only_b)} of {len(files_b)} in b={b!r} have none in a "
                    f"(first: {files_b[only_b[0]][0]})"
                )
            print(
                f"artkit: warning: {self.owner}: {'; '.join(parts)}; using {len(keys)} pairs",
                file=sys.stderr,
            )
        self.files = {k: (files_a[k], files_b[k]) for k in keys}
        h = hashlib.sha256()
        h.update(
            f"artkit-paired-v1\0{self.resolution}\0{self.half}\0{fit}\0{background}\0".encode()
        )
        for k in keys:
            for rel, size, mtime in self.files[k]:
                h.update(f"{rel}\0{size}\0{mtime}\0".encode())
        self._fingerprint = h.hexdigest()[:16]
        self._load_all(keys, self._load_pair, workers=workers, cache=cache)

    def _index(self, root: Path, folder: str, recursive: bool) -> dict[str, tuple[str, int, int]]:
        """Relative name without suffix -> (relative path, size, mtime) of each image file."""
        out: dict[str, tuple[str, int, int]] = {}
        for rel, size, mtime in _scan(root, recursive):
            key = rel.rsplit(".", 1)[0]
            if key in out:
                raise UsageError(
                    f"{self.owner}: {folder!r} has two images named {key!r} "
                    f"({out[key][0]} and {rel}); a name must pick one file"
                )
            out[key] = (rel, size, mtime)
        if not out:
            raise UsageError(f"{self.owner}: no images found in {folder!r}")
        return out

    def _load_pair(self, key: str) -> tuple[Any, Any]:
        draft = int(REDUCING_GAP * max(self.size))
        halves = []
        for root, (rel, _, _) in zip(self.roots, self.files[key], strict=True):
            try:
                halves.append(self._shaped(_open(root / rel, self.half, draft)))
            except UnidentifiedImageError:
                raise _HalfError(f"{rel}: cannot identify image file") from None
            except Exception as exc:
                raise _HalfError(f"{rel}: {_reason(exc)}") from None
        return halves[0], halves[1]


class SideBySideDataset(_PairSource):
    """Images split down the middle into A | B (see the module docstring)."""

    kind = "side-by-side"
    owner = "side-by-side dataset"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        path: str,
        direction: str = "AtoB",
        recursive: bool = True,
        fit: str = "crop",
        background: str = "white",
        workers: int | None = None,
        cache: bool = True,
    ):
        self.config = SideBySideConfig(
            path=path, direction=direction, recursive=recursive, fit=fit, background=background
        )
        self._setup(resolution, channels, fit, background)
        self.direction = direction
        self.root = Path(path).expanduser()
        if not self.root.is_dir():
            what = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise UsageError(f"{self.owner}: {path!r} {what}")
        entries = _scan(self.root, recursive)
        if not entries:
            raise UsageError(f"{self.owner}: no images found in {path!r}")
        h = hashlib.sha256()
        h.update(
            f"artkit-side-by-side-v1\0{self.resolution}\0{self.half}\0{fit}\0{background}\0{direction}\0".encode()
        )
        for rel, size, mtime in entries:
            h.update(f"{rel}\0{size}\0{mtime}\0".encode())
        self._fingerprint = h.hexdigest()[:16]
        self._load_all(
            [rel for rel, _, _ in entries], self._load_pair, workers=workers, cache=cache
        )

    def _load_pair(self, rel: str) -> tuple[Any, Any]:
        # no draft decoding: a reduced JPEG could not be split at an exact pixel
        with Image.open(self.root / rel) as im:
            im.load()
            whole = _working_mode(_upright(im), self.half)
        w, h = whole.size
        if w < 2:
            raise ValueError(f"{w}x{h} is too narrow to split into two halves")
        side = w // 2
        left = self._shaped(whole.crop((0, 0, side, h)))
        right = self._shaped(whole.crop((w - side, 0, w, h)))
        return (left, right) if self.direction == "AtoB" else (right, left)


def _first(files: dict[str, tuple[str, int, int]]) -> str:
    return next(iter(files.values()))[0] if files else "none"
