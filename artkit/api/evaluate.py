"""``artkit.evaluate(...)``: how close generated images are to real ones; ``artkit eval`` calls it.

Two sets of images (or of a plugin medium's items, such as MIDI files) go through one
feature extractor (:mod:`artkit.eval.features`), and :func:`artkit.eval.stats.compare`
measures the distance between the two clouds of features. The samples are paths,
folders, PIL images or the records on stdin; the reference is a folder, a records
file, ``-`` (stdin) or a dataset spec rendered at the samples' size; an optional
held-out set adds the data-copying test. Reference statistics are cached
(``$ARTKIT_CACHE_DIR/eval``) by the reference's fingerprint, the extractor and the
image count; the samples' never are.

Nothing here imports torch at module level.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from artkit.errors import MetricRefused, UsageError

#: what :func:`evaluate` can measure: Fréchet distance, the same extrapolated to
#: unlimited images, kernel inception distance, precision/recall, density/coverage,
#: the data-copying test
METRICS = ("fd", "fdinf", "kid", "pr", "dc", "copy")


def parse_metrics(metrics: str | Sequence[str]) -> list[str]:
    """``"fd,kid"`` or ``["fd", "kid"]`` -> the chosen metrics, in order, once each."""
    text = metrics if isinstance(metrics, str) else ",".join(metrics)
    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in chosen if m not in METRICS]
    if bad or not chosen:
        raise UsageError(f"--metrics {text!r}: use some of {', '.join(METRICS)}")
    return list(dict.fromkeys(chosen))


def evaluate(
    samples: str | os.PathLike[str] | Sequence[Any] | None,
    ref: str | os.PathLike[str],
    *,
    metrics: str | Sequence[str] = ("fd", "kid", "pr"),
    held_out: str | os.PathLike[str] | None = None,
    features: str = "auto",
    weights: str | os.PathLike[str] | None = None,
    n: int | None = None,
    k: int = 3,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    batch_size: int = 50,
    cache: bool = True,
    device: str = "auto",
    notice: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score ``samples`` against ``ref``: the report ``artkit eval --json`` prints.

    ``samples`` is a path or folder, a list of paths or of PIL images (``Model.sample``'s),
    or ``None`` for the records on stdin; ``ref`` a folder, a records file, ``"-"`` or a
    dataset spec (``"shapes:count=2000"``); ``held_out`` (images the model never saw)
    adds the ``copy`` metric with ``ref`` as the whole training set. ``n`` caps every
    set. ``features`` names an extractor (``artkit list extractors``); ``"auto"`` is
    the FID Inception where its weights are found, else ``random-conv`` (said through
    ``notice``). The report has the metrics' values (``fd``, ``fd_inf`` and ``fd_bias``,
    ``kid`` and ``kid_std``,
    ``precision``, ``recall``, ``density``, ``coverage``, ``copying_z`` ...), the
    ``features`` and their ``fd_label`` (``FID`` only with the verified weights), the
    image counts and whether the reference statistics came from the cache.
    Mistakes raise :class:`~artkit.errors.UsageError` with a one-line message.
    """
    chosen = parse_metrics(metrics)
    held = os.fspath(held_out) if held_out else ""
    ref = os.fspath(ref)
    if isinstance(samples, str | os.PathLike):
        samples = [samples]
    if held and "copy" not in chosen:
        chosen.append("copy")  # the only thing a held-out set is for
    if "copy" in chosen and not held:
        raise UsageError(
            "--metrics copy needs --held-out: images of the same kind the model never saw "
            "(a folder, or a dataset spec such as shapes:seed=1)"
        )
    if held == "-" and (ref == "-" or not samples):
        raise UsageError("--held-out -: stdin can carry only one set; give the others as arguments")
    if not ref:
        raise UsageError("give the reference with --ref FOLDER or --ref DATASET_SPEC")
    if n is not None and n < 2:
        raise UsageError("-n must be at least 2")
    if batch_size < 1 or k < 1 or kid_subsets < 1 or kid_subset_size < 2:
        raise UsageError(
            "--batch-size, -k and --kid-subsets must be at least 1, --kid-subset-size 2"
        )
    if ref == "-" and not samples:
        raise UsageError("--ref -: stdin cannot carry both sets; give the samples as arguments")
    sample_set = samples_set(list(samples) if samples else None, n)
    ref_set: ImageSet | MediumSet
    held_set: ImageSet | MediumSet | None = None
    if isinstance(sample_set, MediumSet):
        if held:
            raise UsageError("--held-out: the data-copying test is for images")
        ref_set = medium_reference_set(ref, n, sample_set)
        if features == "auto" and getattr(sample_set.medium, "eval_features", ""):
            features = str(sample_set.medium.eval_features)  # the medium's own extractor
    else:
        side = max(sample_set.first_size())
        ref_set = reference_set(ref, n, side)
        if held:
            held_set = reference_set(held, n, side, what="--held-out")
            if ref_set.total > len(ref_set):  # a copy of an image -n left out would look new
                raise UsageError(
                    f"--held-out: the data-copying test needs the whole training set as --ref; "
                    f"-n {n} keeps {len(ref_set):,} of its {ref_set.total:,} images"
                )

    from artkit.device import resolve_device
    from artkit.eval.features import get_features
    from artkit.eval.stats import compare

    where = resolve_device(device)
    extractor = get_features(
        features, weights=os.fspath(weights) if weights else None, device=where, notice=notice
    )
    if "fdinf" in chosen and isinstance(sample_set, ImageSet):
        from artkit.eval.embedder import feature_dimension
        from artkit.eval.stats import fdinf_refusal

        # from the counts, before any set's features: a refusal should cost no extraction
        refused = fdinf_refusal(
            feature_dimension(extractor, where), counts=(len(sample_set), len(ref_set))
        )
        if refused:
            raise MetricRefused(refused)
    sample_stats, _ = set_statistics(
        sample_set, extractor, where, batch_size, cache=False, about="samples"
    )
    ref_stats, cached = set_statistics(
        ref_set, extractor, where, batch_size, cache=cache, about=ref
    )
    held_stats = None
    if held_set is not None:
        held_stats, _ = set_statistics(
            held_set, extractor, where, batch_size, cache=cache, about=held
        )
    result = compare(
        sample_stats, ref_stats, chosen, k=k,
        kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, held_out=held_stats,
    )  # fmt: skip
    report = {
        **result,
        "features": extractor.name,
        "standard_fid": bool(extractor.standard_fid),
        "fd_label": extractor.label,
        "samples": sample_stats.count,
        "reference": ref_stats.count,
        "reference_cached": cached,
    }
    if held_stats is not None:
        report["held_out"] = held_stats.count
    if "pr" in chosen or "dc" in chosen:
        report["k"] = k
    if isinstance(sample_set, MediumSet) and isinstance(ref_set, MediumSet):
        measures = getattr(sample_set.medium, "evaluate", None)
        if callable(measures):  # the medium's own measures (MuseGAN's, for MIDI)
            report["measures"] = [
                dict(row) for row in measures(sample_set.arrays(), ref_set.arrays())
            ]
    return report


# -- the two (or three) sets -----------------------------------------------------------


def _paths_fingerprint(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        st = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


class ImageSet:
    """One side of the comparison: image paths, or a dataset source, capped at ``n``."""

    def __init__(
        self,
        what: str,
        paths: list[str] | None = None,
        source: Any = None,
        total: int = 0,
        images: list[Any] | None = None,
    ):
        self.what, self.paths, self.source, self.images = what, paths, source, images
        #: how many images there were before ``-n`` capped them
        self.total = total or len(self)

    def __len__(self) -> int:
        if self.images is not None:
            return len(self.images)
        return len(self.paths) if self.paths is not None else len(self.source)

    def fingerprint(self) -> str:
        if self.images is not None:  # never cached: only references are
            raise TypeError("images in memory have no fingerprint")
        if self.paths is not None:
            return "paths:" + _paths_fingerprint(self.paths)
        return f"dataset:{self.source.fingerprint()}@{self.source.resolution}"

    def first_size(self) -> tuple[int, int]:
        if self.images is not None:
            return self.images[0].size
        if self.paths is None:
            return (self.source.resolution, self.source.resolution)
        from artkit.images import load_image

        return load_image(self.paths[0]).size

    def batches(self, size: tuple[int, int], batch_size: int) -> Iterator[Any]:
        """(N, 3, H, W) batches in [-1, 1], every image at ``size``."""
        from PIL import Image

        from artkit.eval.stats import batches_of, to_batch
        from artkit.images import load_image

        if self.images is not None:
            images: Iterator[Any] = iter(self.images)
        elif self.paths is not None:
            images = (load_image(p) for p in self.paths)
        else:
            images = (Image.fromarray(self.source[i].squeeze()) for i in range(len(self.source)))
        for batch in batches_of(images, batch_size):
            yield to_batch(batch, size)


class MediumSet:
    """One side of the comparison in a plugin medium (MIDI files, say): arrays, not pictures.

    Files are read with the medium's ``load_array(path, channels, resolution)`` at one
    geometry for both sets (the samples' model's, from their provenance); a dataset
    reference gives its items at that geometry. ``batches`` are ``(N, C, H, W)`` in
    [-1, 1] at the items' own size, as the model generated them.
    """

    def __init__(
        self,
        what: str,
        found: Any,
        geometry: tuple[int, Any],
        paths: list[str] | None = None,
        source: Any = None,
    ):
        self.what, self.medium, self.geometry = what, found, geometry
        self.paths, self.source = paths, source
        self._arrays: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.source)

    def fingerprint(self) -> str:
        where = f"{self.medium.name}@{self.geometry[0]}x{self.geometry[1]}"
        if self.paths is not None:
            return f"{where}:paths:" + _paths_fingerprint(self.paths)
        return f"{where}:dataset:{self.source.fingerprint()}@{self.source.resolution}"

    def arrays(self) -> list[Any]:
        """Every item as a uint8 ``(H, W, C)`` array (read once)."""
        import numpy as np

        if self._arrays is None:
            if self.paths is not None:
                load = self.medium.load_array
                channels, resolution = self.geometry
                self._arrays = [np.asarray(load(p, channels, resolution)) for p in self.paths]
            else:
                self._arrays = [np.asarray(self.source[i]) for i in range(len(self.source))]
            shapes = {a.shape for a in self._arrays}
            if len(shapes) > 1:
                raise UsageError(
                    f"the {self.what} {self.medium.name} items come in {len(shapes)} shapes "
                    f"({', '.join(str(s) for s in sorted(shapes)[:3])}); they must share one"
                )
        return self._arrays

    def first_size(self) -> tuple[int, int]:
        height, width = self.arrays()[0].shape[:2]
        return (width, height)

    def batches(self, size: tuple[int, int], batch_size: int) -> Iterator[Any]:
        """(N, C, H, W) batches in [-1, 1] at the items' own size (the extractor resizes)."""
        import numpy as np
        import torch

        from artkit.torch_images import from_uint8

        arrays = self.arrays()
        for i in range(0, len(arrays), batch_size):
            chunk = np.stack([a.astype(np.uint8, copy=False) for a in arrays[i : i + batch_size]])
            if chunk.ndim == 3:  # (N, H, W): one channel
                chunk = chunk[..., None]
            yield from_uint8(torch.from_numpy(chunk).permute(0, 3, 1, 2).contiguous())


def _medium_geometry(found: Any, path: str) -> tuple[int, Any]:
    """(channels, resolution) of the model that made ``path``, from its provenance."""
    from artkit.errors import ArtkitError

    try:
        prov = found.read_provenance(path) or {}
    except ArtkitError:
        prov = {}
    config = prov.get("config") if isinstance(prov.get("config"), dict) else None
    name = prov.get("model")
    if config is not None and "resolution" in config and "channels" in config:
        return int(config["channels"]), config["resolution"]
    if config is not None and isinstance(name, str):
        from artkit.plugins import get_registry

        models = get_registry("models")
        if name in models:
            entry = models.get(name)
            try:
                bound = entry.bind(config, strict=False)
                cfg = entry.config_class(**bound) if entry.config_class else None
                if cfg is not None:
                    return int(cfg.channels), cfg.resolution
            except (ArtkitError, TypeError, ValueError, AttributeError):
                pass
    raise UsageError(
        f"{path}: its provenance does not say the model's resolution and channels, "
        f"which artkit eval needs to read {found.name} files"
    )


def _records(args: list[str], stream: Any = None) -> list[str]:
    from artkit.records import read_records

    return [r.path for r in read_records(args, stdin=stream)]


def _media_arguments(args: list[str]) -> tuple[Any, list[str]] | None:
    """Arguments that are a plugin medium's files or folders of them: (medium, paths), or None."""
    from artkit.media import is_image, media_files, medium_for_path

    found, paths = None, []
    for arg in args:
        if os.path.isdir(arg):
            hit = media_files(arg)
            if hit is None:
                return None
            kind, files = hit
        else:
            kind, files = medium_for_path(arg), [arg]
            if kind is None or is_image(kind):
                return None
        if found is not None and kind is not found:
            return None
        found = kind
        paths.extend(files)
    return (found, paths) if found is not None else None


def samples_set(samples: list[Any] | None, n: int | None) -> ImageSet | MediumSet:
    """The samples: paths and folders, PIL images, or (``None``, ``[]``) the records on stdin."""
    import itertools

    from PIL import Image

    from artkit.media import is_image, medium_for_path
    from artkit.records import read_records

    pictures = [s for s in samples or [] if isinstance(s, Image.Image)]
    if pictures:
        if len(pictures) != len(samples or []):
            raise UsageError("samples: give paths or PIL images, not both")
        pictures = pictures[: n or None]
        if len(pictures) < 2:
            raise UsageError(f"need at least 2 sample images, got {len(pictures)}")
        return ImageSet("samples", images=pictures)
    samples = [os.fspath(s) for s in samples or []]
    media = _media_arguments(samples) if samples else None
    if media is not None:
        found, paths = media
        paths = paths[: n or None]
        if len(paths) < 2:
            raise UsageError(f"need at least 2 sample files, got {len(paths)}")
        return MediumSet("samples", found, _medium_geometry(found, paths[0]), paths)
    paths = [r.path for r in itertools.islice(read_records(samples or []), n)]
    found = medium_for_path(paths[0]) if paths else None
    if found is not None and not is_image(found):  # `artkit sample MUSIC | artkit eval`
        if len(paths) < 2:
            raise UsageError(f"need at least 2 sample files, got {len(paths)}")
        return MediumSet("samples", found, _medium_geometry(found, paths[0]), paths)
    if len(paths) < 2:
        raise UsageError(f"need at least 2 sample images, got {len(paths)}")
    return ImageSet("samples", paths)


def medium_reference_set(ref: str, n: int | None, like: MediumSet) -> MediumSet:
    """The reference for a medium's samples: files of that medium (a folder, a records file,
    stdin) read at the samples' geometry, or a dataset spec built at it."""

    found, (channels, resolution) = like.medium, like.geometry
    path = Path(ref).expanduser()
    paths: list[str] | None = None
    if ref == "-":
        paths = _records(["-"], None)
    elif path.is_dir():
        hit = _media_arguments([str(path)])
        if hit is None or hit[0] is not found:
            raise UsageError(
                f"--ref {ref}: holds no {found.name} files ({', '.join(found.suffixes)})"
            )
        paths = hit[1]
    elif path.is_file() and path.suffix.lower() in tuple(x.lower() for x in found.suffixes):
        raise UsageError(f"--ref {ref}: one file is not a reference; give a folder or a dataset")
    elif path.is_file():  # a records file
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            paths = _records(["-"], stream)
    if paths is not None:
        paths = paths[: n or None]
        if len(paths) < 2:
            raise UsageError(f"--ref {ref}: need at least 2 {found.name} files, found {len(paths)}")
        return MediumSet("reference", found, like.geometry, paths)
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(ref)
    datasets = get_registry("datasets")
    if name not in datasets:
        raise UsageError(
            f"--ref {ref}: neither a folder nor a dataset (datasets: {', '.join(e.name for e in datasets)})"
        )
    source = datasets.get(name).create(options, resolution=resolution, channels=channels)
    if n is not None and n < len(source):
        source = _Head(source, n)
    return MediumSet("reference", found, like.geometry, source=source)


def reference_set(ref: str, n: int | None, side: int, *, what: str = "--ref") -> ImageSet:
    """The reference as paths (folder, records file, stdin) or as a dataset rendered at ``side``."""
    from artkit.images import is_image_path

    path = Path(ref).expanduser()
    paths: list[str] | None = None
    if ref == "-":
        paths = _records(["-"])
    elif path.is_dir():
        paths = _records([str(path)])
    elif path.is_file() and not is_image_path(path.name):  # a records file
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            paths = [r for r in _records(["-"], stream)]
    elif path.is_file():
        raise UsageError(f"{what} {ref}: one image is not a reference; give a folder or a dataset")
    if paths is not None:
        total, paths = len(paths), paths[: n or None]
        if len(paths) < 2:
            raise UsageError(f"{what} {ref}: need at least 2 images, found {len(paths)}")
        return ImageSet(what.lstrip("-"), paths, total=total)
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(ref)
    datasets = get_registry("datasets")
    if name not in datasets:
        raise UsageError(
            f"{what} {ref}: neither a folder nor a dataset (datasets: {', '.join(e.name for e in datasets)})"
        )
    source = datasets.get(name).create(options, resolution=side, channels=3)
    total = len(source)
    if n is not None and n < total:
        source = _Head(source, n)
    return ImageSet(what.lstrip("-"), source=source, total=total)


class _Head:
    """The first ``n`` images of a dataset source."""

    def __init__(self, source: Any, n: int):
        self.source, self.n, self.resolution = source, n, source.resolution

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        return self.source[i]

    def fingerprint(self) -> str:
        return f"{self.source.fingerprint()}[:{self.n}]"


def set_statistics(
    images: ImageSet | MediumSet,
    extractor: Any,
    device: Any,
    batch_size: int,
    *,
    cache: bool,
    about: str,
) -> tuple[Any, bool]:
    """(statistics, came from the cache) of one image set."""
    from artkit.eval.features import identity
    from artkit.eval.stats import cache_path, feature_stats, load_cached, store

    native = images.first_size()
    height, width = extractor.input_hw  # to_batch takes Pillow's (width, height)
    size = native if extractor.native_input else (width, height)
    key = None
    if cache:
        key = cache_path(images.fingerprint(), f"{identity(extractor)}@{size}", len(images))
        hit = load_cached(key)
        if hit is not None:
            return hit, True
    import torch

    with torch.inference_mode():
        stats = feature_stats(images.batches(size, batch_size), extractor, device)
    if key is not None:
        store(key, stats, {"reference": about, "features": extractor.name})
    return stats, False
