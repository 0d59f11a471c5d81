"""``single-image``: random square crops of one picture, a dataset for texture models.

Crop ``i`` is a square whose side is a seeded random fraction (``min_scale`` to
``max_scale``) of the picture's shorter side, at a seeded random position,
resized to the resolution with Lanczos (straight from the source pixels, with
Pillow's ``box`` argument: no intermediate crop), then -- when ``flips`` /
``rotations`` are on -- mirrored, flipped and turned by a random number of quarter
turns. It depends only on ``(seed, i)``, the picture and the parameters, so any
index can be drawn on its own (``ds[i]``) and always gives the same pixels; the
random draws are the same whichever of flips / rotations is on, so switching one
off keeps the crop boxes.

``path=sample:NAME`` takes a picture bundled with scikit-image / scikit-learn (see
:mod:`artkit_data.samples`). The picture is decoded once (EXIF orientation
applied, transparency composited onto ``background`` unless ``channels=4``);
:meth:`as_array` draws every crop, in threads (Pillow releases the GIL while it
resamples), and keeps the result in the decoded-dataset cache
(:mod:`artkit.dataset_cache`), keyed by the file's size and mtime and the parameters.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from artkit.data import resolution_value
from artkit.errors import UsageError

from .configs import SingleImageConfig, check_geometry
from .crops import render_crop

#: bump whenever the drawing code changes what any image looks like
RENDER_VERSION = 1
SAMPLE_PREFIX = "sample:"
#: below this many crops drawing stays on the calling thread
PARALLEL_THRESHOLD = 64
_OWNER = "single-image dataset"
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class SingleImageDataset:
    """``count`` seeded crops of one picture as uint8 arrays ``(resolution, resolution, channels)``."""

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        path: str,
        count: int = 1024,
        min_scale: float = 0.1,
        max_scale: float = 0.5,
        seed: int = 0,
        flips: bool = True,
        rotations: bool = True,
        background: str = "white",
        workers: int | None = None,
        cache: bool = True,
    ):
        #: (height, width): ``resolution`` is one side or "HxW"
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = SingleImageConfig(
            path=path,
            count=count,
            min_scale=min_scale,
            max_scale=max_scale,
            seed=seed,
            flips=flips,
            rotations=rotations,
            background=background,
        )  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.path = path
        self.count = count
        self.min_scale = float(min_scale)
        self.max_scale = float(max_scale)
        self.seed = seed
        self.flips = flips
        self.rotations = rotations
        self.background = background
        self.workers = workers
        self.use_cache = cache
        #: the picture's file
        self.file = _resolve(path)
        from artkit.images import load_image

        #: the decoded picture, in the dataset's mode
        self.image = load_image(self.file, mode=_MODES[channels], background=background.strip())
        #: the picture's (width, height)
        self.source_size = self.image.size
        st = os.stat(self.file)
        self._fingerprint = _fingerprint(self.file, st.st_size, st.st_mtime_ns, self._spec())
        #: crops are never unreadable; present for the contract's describe()
        self.skipped: list[tuple[str, str]] = []
        self.cache_hit = False
        self._array: Any = None

    # -- drawing ----------------------------------------------------------------

    def crop_spec(self, index: int) -> dict[str, Any]:
        """Where crop ``index`` comes from: ``box`` (left, top, right, bottom) and its transforms."""
        i = self._index(index)
        rng = random.Random(f"artkit-single-image:{self.seed}:{i}")  # str seeds hash with sha512
        w, h = self.image.size
        short = min(w, h)
        side = max(1, min(short, round(rng.uniform(self.min_scale, self.max_scale) * short)))
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        mirror, flip, turns = rng.random() < 0.5, rng.random() < 0.5, rng.randrange(4)
        return {
            "box": (x, y, x + side, y + side),
            "mirror": mirror and self.flips,
            "flip": flip and self.flips,
            "turns": turns if self.rotations else 0,
        }

    def render(self, index: int) -> Any:
        """Draw crop ``index`` as a fresh uint8 array (no caching)."""
        spec = self.crop_spec(index)
        return render_crop(
            self.image,
            spec["box"],
            self.resolution,
            self.channels,
            mirror=spec["mirror"],
            flip=spec["flip"],
            turns=spec["turns"],
        )

    def _render_all(self) -> tuple[Any, dict[str, Any]]:
        import numpy as np

        out = np.empty((self.count, *self.size, self.channels), dtype=np.uint8)

        def job(i: int) -> None:
            out[i] = self.render(i)

        workers = self.workers or _cpu_count()
        if workers > 1 and self.count >= PARALLEL_THRESHOLD:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(job, range(self.count)))
        else:
            for i in range(self.count):
                job(i)
        return out, {}

    # -- the ImageSource contract -----------------------------------------------

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, slice):
            return self.as_array()[index]
        i = self._index(index)
        if self._array is not None:
            return self._array[i]
        return self.render(i)

    def __iter__(self):
        for i in range(self.count):
            yield self[i]

    def as_array(self) -> Any:
        """Every crop as one uint8 array ``(N, R, R, C)``, drawn once (or loaded from the cache).

        The array is the cache itself (``torch.from_numpy`` shares it): treat it as read-only.
        """
        if self._array is None:
            if self.use_cache:
                from artkit.dataset_cache import cached

                self._array, _meta, self.cache_hit = cached(
                    "single-image",
                    self._fingerprint,
                    self.resolution,
                    self.channels,
                    self._render_all,
                )
            else:
                self._array, _meta = self._render_all()
        return self._array

    def fingerprint(self) -> str:
        return self._fingerprint

    def model_defaults(self) -> dict[str, Any]:
        """A grey picture read as RGB or RGBA asks a model that can (``grey``: fastgan,
        dcgan, vae) to paint grey. Its crops are resampled band by band, so they are grey
        exactly when the picture is: one look at the decoded picture, no crops drawn."""
        import numpy as np

        from artkit.data import grey_to_paint

        return grey_to_paint(np.asarray(self.image)[None], self.channels)

    def label(self, index: int) -> str:
        return f"{Path(self.file).stem} crop {self._index(index)}"

    def summary(self) -> dict[str, Any]:
        """Extra facts for ``artkit data info``."""
        w, h = self.source_size
        return {"source": str(self.file), "source_size": f"{w}x{h}"}

    def _index(self, index: int) -> int:
        i = operator.index(index)
        if not -self.count <= i < self.count:
            raise IndexError(f"single-image dataset index {i} out of range ({self.count} crops)")
        return i % self.count

    def _spec(self) -> dict[str, Any]:
        return {
            "dataset": "single-image",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "count": self.count,
            "min_scale": self.min_scale,
            "max_scale": self.max_scale,
            "seed": self.seed,
            "flips": self.flips,
            "rotations": self.rotations,
            "background": self.background if self.channels != 4 else None,
        }

    def __repr__(self) -> str:
        w, h = self.source_size
        return (
            f"SingleImageDataset(path={self.path!r}, source={w}x{h}, count={self.count}, "
            f"resolution={self.resolution}, channels={self.channels})"
        )


# -- helpers ------------------------------------------------------------------------


def _resolve(path: str) -> Path:
    text = path.strip()
    if text.lower().startswith(SAMPLE_PREFIX):
        from .samples import sample_path

        return sample_path(text[len(SAMPLE_PREFIX) :])
    p = Path(text).expanduser()
    if p.is_dir():
        raise UsageError(f"{_OWNER}: {path!r} is a folder; pass one picture (or use folder:path=)")
    if not p.exists():
        raise UsageError(f"{_OWNER}: {path!r} does not exist")
    return p


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _fingerprint(path: Path, size: int, mtime_ns: int, spec: dict[str, Any]) -> str:
    source = {"path": os.path.abspath(path), "size": size, "mtime_ns": mtime_ns}
    blob = json.dumps({"source": source, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
