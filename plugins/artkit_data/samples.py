"""``samples``: the real photos bundled in the scikit-image and scikit-learn wheels.

scikit-image ships a handful of classic test pictures inside its wheel
(``skimage/data``: the astronaut, coffee, Chelsea the cat, a rocket, the Hubble
deep field, ...) and scikit-learn two holiday photos (``china.jpg``,
``flower.jpg``). They need no download, so they make a tiny real dataset and
offline content / style sources for style transfer (:func:`sample_image`).

Both packages are an optional extra (``pip install 'artkit[samples]'``). Neither is
imported: the files are found next to the installed packages
(``importlib.util.find_spec``) and decoded with Pillow, which keeps this fast
(importing scikit-learn alone takes seconds).

The dataset has one item per photo -- centre-cropped to a square and resized with
Lanczos -- or, with ``crops=N``, N seeded random square crops per photo (30-80% of
its shorter side, flipped left-right half of the time). ``names`` picks photos or
groups (``photos``: colour photographs, ``grey``: greyscale pictures,
``textures``: brick, grass and gravel); grey pictures are replicated to RGB for
colour datasets. Images are rendered when the dataset is built and kept in the
decoded-dataset cache when crops are asked for.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import operator
import os
import random
from pathlib import Path
from typing import Any

from PIL import Image

from artkit.data import DecodedImages, resolution_value
from artkit.errors import ArtkitError, UsageError

from .configs import SamplesConfig, check_geometry

#: bump whenever the drawing code changes what any image looks like
RENDER_VERSION = 1
#: name -> (package, file inside the package, group)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "astronaut": ("skimage", "data/astronaut.png", "photos"),
    "coffee": ("skimage", "data/coffee.png", "photos"),
    "chelsea": ("skimage", "data/chelsea.png", "photos"),
    "rocket": ("skimage", "data/rocket.jpg", "photos"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg", "photos"),
    "retina": ("skimage", "data/retina.jpg", "photos"),
    "immunohistochemistry": ("skimage", "data/ihc.png", "photos"),
    "motorcycle": ("skimage", "data/motorcycle_left.png", "photos"),
    "china": ("sklearn", "datasets/images/china.jpg", "photos"),
    "flower": ("sklearn", "datasets/images/flower.jpg", "photos"),
    "camera": ("skimage", "data/camera.png", "grey"),
    "moon": ("skimage", "data/moon.png", "grey"),
    "coins": ("skimage", "data/coins.png", "grey"),
    "clock": ("skimage", "data/clock_motion.png", "grey"),
    "page": ("skimage", "data/page.png", "grey"),
    "text": ("skimage", "data/text.png", "grey"),
    "brick": ("skimage", "data/brick.png", "textures"),
    "grass": ("skimage", "data/grass.png", "textures"),
    "gravel": ("skimage", "data/gravel.png", "textures"),
}
#: every sample name, in the dataset's order
SAMPLE_NAMES: tuple[str, ...] = tuple(SAMPLES)
GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(n for n, (_, _, g) in SAMPLES.items() if g == group)
    for group in ("photos", "grey", "textures")
}
EXTRA_HINT = "pip install 'artkit[samples]' (scikit-image / scikit-learn)"
_PACKAGES = {"skimage": "scikit-image", "sklearn": "scikit-learn"}
#: random crops (crops > 0) take this fraction of the photo's shorter side
CROP_SCALE = (0.3, 0.8)
_OWNER = "samples dataset"
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _package_dir(package: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed() -> bool:
    """True when scikit-image or scikit-learn is installed."""
    return any(_package_dir(p) is not None for p in _PACKAGES)


def locate_samples() -> str | None:
    """How many sample photos are installed, or None (the ``samples`` asset's check)."""
    names = available_samples()
    return f"{len(names)} photos" if names else None


def available_samples() -> list[str]:
    """The sample names whose files are installed, in :data:`SAMPLE_NAMES` order."""
    out = []
    roots = {p: _package_dir(p) for p in _PACKAGES}
    for name, (package, rel, _group) in SAMPLES.items():
        root = roots[package]
        if root is not None and (root / rel).is_file():
            out.append(name)
    return out


def _unknown(name: str) -> UsageError:
    known = [*SAMPLE_NAMES, *GROUPS]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "known: " + ", ".join(known)
    )
    return UsageError(f"unknown sample {name!r}; {hint}")


def sample_path(name: str) -> Path:
    """The file of one sample; one-line errors for unknown names and missing packages."""
    key = name.strip().lower().replace("-", "_")
    if key not in SAMPLES:
        raise _unknown(name)
    package, rel, _group = SAMPLES[key]
    root = _package_dir(package)
    if root is None:
        if not installed():
            raise ArtkitError(f"{_OWNER}: needs the optional extra: {EXTRA_HINT}")
        raise ArtkitError(
            f"sample {key!r} comes with {_PACKAGES[package]}, which is not installed: {EXTRA_HINT}"
        )
    path = root / rel
    if not path.is_file():
        raise ArtkitError(
            f"sample {key!r}: {str(path)!r} is missing from the installed {_PACKAGES[package]}"
        )
    return path


def sample_image(name: str, mode: str | None = None) -> Image.Image:
    """One bundled sample photo as a PIL image (its natural mode, L or RGB, unless ``mode``).

    For commands that want a content or style picture: ``sample_image("astronaut")``.
    """
    from artkit.images import load_image

    return load_image(sample_path(name), mode=mode)


def resolve_names(names: str) -> list[str]:
    """``"astronaut/coffee"``, ``"photos+brick"`` or ``""`` (all installed) -> sample names.

    Separators: ``/``, ``+``, ``,`` or spaces; groups expand in place; repeats are dropped.
    """
    if not names.strip():
        return available_samples()
    out: dict[str, None] = {}
    for raw in names.replace("+", "/").replace(",", "/").replace(" ", "/").split("/"):
        key = raw.strip().lower().replace("-", "_")
        if not key:
            continue
        if key in GROUPS:
            for n in GROUPS[key]:
                out[n] = None
        elif key in SAMPLES:
            out[key] = None
        else:
            raise _unknown(raw.strip())
    return list(out)


class SamplesDataset(DecodedImages):
    """The bundled sample photos as uint8 arrays ``(resolution, resolution, channels)``."""

    kind = "samples"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        names: str = "",
        crops: int = 0,
        seed: int = 0,
    ):
        #: (height, width): ``resolution`` is one side or "HxW"
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = SamplesConfig(names=names, crops=crops, seed=seed)  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.crops = crops
        self.seed = seed
        if not installed():
            raise ArtkitError(f"{_OWNER}: needs the optional extra: {EXTRA_HINT}")
        #: the samples used, in order
        self.names = resolve_names(names)
        if not self.names:
            raise ArtkitError(f"{_OWNER}: no sample pictures are installed; {EXTRA_HINT}")
        self.paths = [sample_path(n) for n in self.names]
        self._fingerprint = _fingerprint(self.paths, self._spec())
        #: samples are never unreadable; present for the contract's describe()
        self.skipped: list[tuple[str, str]] = []
        #: (sample name, crop number or -1 for the centre crop) of each image
        self.items: list[tuple[str, int]] = []
        for name in self.names:
            self.items.extend((name, k) for k in (range(crops) if crops else [-1]))
        self.cache_hit = False
        if crops:
            from artkit.dataset_cache import cached

            self.images, _meta, self.cache_hit = cached(
                "samples", self._fingerprint, self.resolution, channels, self._render_all
            )
        else:
            self.images, _meta = self._render_all()

    def _render_all(self) -> tuple[Any, dict[str, Any]]:
        import numpy as np

        from .crops import render_crop

        r, c = self.size, self.channels
        images = np.empty((len(self.items), *r, c), dtype=np.uint8)
        k = 0
        for name, path in zip(self.names, self.paths, strict=True):
            im = _load(path, c)
            w, h = im.size
            s = min(w, h)
            if not self.crops:
                box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
                images[k] = render_crop(im, box, r, c)
                k += 1
                continue
            for n in range(self.crops):
                rng = random.Random(f"artkit-samples:{self.seed}:{name}:{n}")
                side = max(1, round(rng.uniform(*CROP_SCALE) * s))
                x, y = rng.randint(0, w - side), rng.randint(0, h - side)
                mirror = rng.random() < 0.5
                images[k] = render_crop(im, (x, y, x + side, y + side), r, c, mirror=mirror)
                k += 1
        return images, {}

    # -- the ImageSource contract -----------------------------------------------

    # __len__, __getitem__, __iter__, as_array, fingerprint: DecodedImages

    def model_defaults(self) -> dict[str, Any]:
        """Grey photographs (``camera``, ``moon``, ...) read as RGB or RGBA ask a model
        that can (``grey``: fastgan, dcgan, vae) to paint grey; one colour photo keeps colour."""
        from artkit.data import grey_to_paint

        return grey_to_paint(self.images, self.channels)

    def label(self, index: int) -> str:
        name, k = self.items[operator.index(index)]
        return name if k < 0 else f"{name} crop {k}"

    def summary(self) -> dict[str, Any]:
        """Extra facts for ``artkit data info``."""
        return {"samples": list(self.names), "files": [str(p) for p in self.paths]}

    def _spec(self) -> dict[str, Any]:
        return {
            "dataset": "samples",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "names": self.names,
            "crops": self.crops,
            "seed": self.seed if self.crops else None,
        }

    def __repr__(self) -> str:
        return (
            f"SamplesDataset(samples={len(self.names)}, images={len(self)}, "
            f"resolution={self.resolution}, channels={self.channels})"
        )


def _load(path: Path, channels: int) -> Image.Image:
    from artkit.images import load_image

    return load_image(path, mode=_MODES[channels])


def _fingerprint(paths: list[Path], spec: dict[str, Any]) -> str:
    files = []
    for p in paths:
        st = os.stat(p)
        files.append([p.name, st.st_size])  # wheels reinstall with new mtimes: size is enough
    blob = json.dumps({"files": files, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
