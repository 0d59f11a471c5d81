"""``artkit eval SAMPLES --ref REFERENCE``: how close generated images are to real ones.

SAMPLES are image paths or folders, or with none the records on stdin, so
``artkit sample m.safetensors -n 2000 -o fakes | artkit eval --ref emoji`` works.
Files of a plugin's medium (MIDI) are read through it (``load_array``) at the
geometry of the model that made them (from their provenance), the reference too;
``--features auto`` is then the medium's ``eval_features``, and the medium's own
measures (``evaluate``) are printed under the distances.
REFERENCE is a folder, a records file (one path or JSON record a line), ``-`` for
the records on stdin (then SAMPLES are arguments), or a dataset spec
(``shapes:count=2000``, ``folder:path=art/``) rendered at the samples' size.

Metrics: ``fd`` (Fréchet distance), ``kid`` (kernel inception distance, mean and
std over subsets), ``pr`` (precision and recall, k-NN manifolds), ``dc`` (density
and coverage), ``copy`` (the data-copying test: with ``--held-out NEW`` and REFERENCE
the whole training set, are the samples nearer the training images than new
images are? See :func:`artkit.eval.metrics.data_copying`). The output always
names the features; it says FID only with the verified FID Inception weights.
Reference statistics are cached (``$ARTKIT_CACHE_DIR/eval``) by the reference's
fingerprint, the extractor and the image count.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonObject

METRICS = ("fd", "kid", "pr", "dc", "copy")


def attach(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def parse_metrics(text: str) -> list[str]:
    from artkit.errors import UsageError

    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in chosen if m not in METRICS]
    if bad or not chosen:
        raise UsageError(f"--metrics {text!r}: use some of {', '.join(METRICS)}")
    return list(dict.fromkeys(chosen))


def notice_printer() -> Callable[[str], None]:
    """One-line notices on stderr (silent with -q), each starting ``artkit: notice:``."""
    from artkit.cli.context import say

    def notice(message: str) -> None:
        say("artkit: notice: " + message.removeprefix("artkit: notice: "))

    return notice


def _paths_fingerprint(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        st = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


class ImageSet:
    """One side of the comparison: image paths, or a dataset source, capped at ``n``."""

    def __init__(
        self, what: str, paths: list[str] | None = None, source: Any = None, total: int = 0
    ):
        self.what, self.paths, self.source = what, paths, source
        #: how many images there were before ``-n`` capped them
        self.total = total or len(self)

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.source)

    def fingerprint(self) -> str:
        if self.paths is not None:
            return "paths:" + _paths_fingerprint(self.paths)
        return f"dataset:{self.source.fingerprint()}@{self.source.resolution}"

    def first_size(self) -> tuple[int, int]:
        if self.paths is None:
            return (self.source.resolution, self.source.resolution)
        from artkit.images import load_image

        return load_image(self.paths[0]).size

    def batches(self, size: tuple[int, int], batch_size: int) -> Iterator[Any]:
        """(N, 3, H, W) batches in [-1, 1], every image at ``size``."""
        from PIL import Image

        from artkit.eval.stats import batches_of, to_batch
        from artkit.images import load_image

        if self.paths is not None:
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
                from artkit.errors import UsageError

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
    from artkit.errors import ArtkitError, UsageError

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


def samples_set(samples: list[str] | None, n: int | None) -> ImageSet | MediumSet:
    import itertools

    from artkit.errors import UsageError
    from artkit.media import is_image, medium_for_path
    from artkit.records import read_records

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
    from artkit.errors import UsageError

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
    from artkit.errors import UsageError
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


def eval_command(
    samples: Annotated[
        list[str] | None, typer.Argument(help="Generated images or folders (default: stdin).")
    ] = None,
    ref: Annotated[
        str,
        typer.Option(
            "--ref",
            "-r",
            help="Reference: a folder, a records file, - (stdin), or a dataset spec (shapes:count=2000).",
        ),
    ] = "",
    metrics: Annotated[
        str,
        typer.Option(
            help="Comma-separated: fd, kid, pr (precision/recall), dc (density/coverage), "
            "copy (data copying; needs --held-out)."
        ),
    ] = "fd,kid,pr",
    held_out: Annotated[
        str,
        typer.Option(
            "--held-out",
            help="Images of the reference's kind the model never saw (a folder, records file or "
            "dataset spec, e.g. shapes:seed=1): adds the data-copying test (copy), which then "
            "takes --ref as the whole training set.",
        ),
    ] = "",
    features: Annotated[
        str,
        typer.Option(
            help="Feature extractor: auto (FID Inception with its weights, else random-conv), "
            "inception, vgg16, random-conv, checkpoint:path=RUN, classifier:data=shapes "
            "(trained on the data's own labels; see artkit list extractors)."
        ),
    ] = "auto",
    weights: Annotated[
        Path | None,
        typer.Option(help="Weights file for the extractor (pt_inception-2015-12-05-6726825d.pth)."),
    ] = None,
    n: Annotated[int | None, typer.Option("-n", help="Use at most N images of each set.")] = None,
    k: Annotated[int, typer.Option("-k", help="Neighbours for precision/recall.")] = 3,
    kid_subsets: Annotated[int, typer.Option(help="KID: random subsets averaged.")] = 100,
    kid_subset_size: Annotated[int, typer.Option(help="KID: images per subset.")] = 1000,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 50,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Recompute the reference statistics.")
    ] = False,
    as_json: JsonObject = False,
) -> None:
    """Score generated images against a reference: FD (FID with the standard weights), KID, precision/recall."""
    from artkit.cli.context import settings
    from artkit.errors import UsageError

    chosen = parse_metrics(metrics)
    if held_out and "copy" not in chosen:
        chosen.append("copy")  # the only thing a held-out set is for
    if "copy" in chosen and not held_out:
        raise UsageError(
            "--metrics copy needs --held-out: images of the same kind the model never saw "
            "(a folder, or a dataset spec such as shapes:seed=1)"
        )
    if held_out == "-" and (ref == "-" or not samples):
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
    sample_set = samples_set(samples, n)
    ref_set: ImageSet | MediumSet
    held_set: ImageSet | MediumSet | None = None
    if isinstance(sample_set, MediumSet):
        if held_out:
            raise UsageError("--held-out: the data-copying test is for images")
        ref_set = medium_reference_set(ref, n, sample_set)
        if features == "auto" and getattr(sample_set.medium, "eval_features", ""):
            features = str(sample_set.medium.eval_features)  # the medium's own extractor
    else:
        side = max(sample_set.first_size())
        ref_set = reference_set(ref, n, side)
        if held_out:
            held_set = reference_set(held_out, n, side, what="--held-out")
            if ref_set.total > len(ref_set):  # a copy of an image -n left out would look new
                raise UsageError(
                    f"--held-out: the data-copying test needs the whole training set as --ref; "
                    f"-n {n} keeps {len(ref_set):,} of its {ref_set.total:,} images"
                )

    from artkit.device import resolve_device
    from artkit.eval.features import get_features
    from artkit.eval.stats import compare

    device = resolve_device(settings().device)
    extractor = get_features(
        features, weights=str(weights) if weights else None, device=device, notice=notice_printer()
    )
    sample_stats, _ = set_statistics(
        sample_set, extractor, device, batch_size, cache=False, about="samples"
    )
    ref_stats, cached = set_statistics(
        ref_set, extractor, device, batch_size, cache=not no_cache, about=ref
    )
    held_stats = None
    if held_set is not None:
        held_stats, _ = set_statistics(
            held_set, extractor, device, batch_size, cache=not no_cache, about=held_out
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
        evaluate = getattr(sample_set.medium, "evaluate", None)
        if callable(evaluate):  # the medium's own measures (MuseGAN's, for MIDI)
            report["measures"] = [
                dict(row) for row in evaluate(sample_set.arrays(), ref_set.arrays())
            ]
    if as_json:
        print(json.dumps(report), flush=True)
        return
    print(_table(report), flush=True)


def _table(report: dict[str, Any]) -> str:
    note = (
        ""
        if report["standard_fid"]
        else "  (non-standard features: compare only with the same features)"
    )
    cached = " (cached statistics)" if report["reference_cached"] else ""
    rows = [
        ("features", f"{report['features']}{note}"),
        ("images", f"{report['samples']} samples, {report['reference']} reference{cached}"),
    ]
    if "fd" in report:
        rows.append((report["fd_label"], f"{report['fd']:.4f}"))
    if "kid" in report:
        rows.append(("KID", f"{report['kid']:.5f} ± {report['kid_std']:.5f}"))
    if "precision" in report:
        rows.append((f"precision (k={report['k']})", f"{report['precision']:.4f}"))
        rows.append((f"recall (k={report['k']})", f"{report['recall']:.4f}"))
    if "density" in report:
        rows.append((f"density (k={report['k']})", f"{report['density']:.4f}"))
        rows.append((f"coverage (k={report['k']})", f"{report['coverage']:.4f}"))
    if "copying_z" in report:
        rows.append(("held-out images", f"{report['held_out']}"))
        verdict = _copying_verdict(report["copying_z"])
        rows.append(("copying z (C_T)", f"{report['copying_z']:+.2f}  {verdict}"))
        rows.append(("copying z (global)", f"{report['copying_z_global']:+.2f}"))
        rows.append(("nearest ratio", f"{report['nearest_ratio']:.4f}  (1: as near as new images)"))
        rows.append(("copy share", f"{report['copy_share']:.4f}  (0.01: as new images)"))
    for row in report.get("measures", []):
        values = {k: v for k, v in row.items() if k != "name"}
        shown = "  ".join(f"{k} {_number(v)}" for k, v in values.items())
        rows.append((str(row.get("name", "?")), shown))
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{value}" for name, value in rows)


def _copying_verdict(z: float) -> str:
    """Meehan et al.'s reading of C_T: below -3 copies, above 3 falls short of the data."""
    if z < -3:
        return "(copies: samples nearer the training images than new images are)"
    if z > 3:
        return "(farther from the training images than new images: not copying)"
    return "(as near as new images: no sign of copying)"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
