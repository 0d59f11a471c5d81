"""``artkit eval SAMPLES --ref REFERENCE``: how close generated images are to real ones.

SAMPLES are image paths or folders, or with none the records on stdin, so
``artkit sample m.safetensors -n 2000 -o fakes | artkit eval --ref emoji`` works.
REFERENCE is a folder, a records file (one path or JSON record a line), ``-`` for
the records on stdin (then SAMPLES are arguments), or a dataset spec
(``shapes:count=2000``, ``folder:path=art/``) rendered at the samples' size.

Metrics: ``fd`` (Fréchet distance), ``kid`` (kernel inception distance, mean and
std over subsets), ``pr`` (precision and recall, k-NN manifolds). The output always
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

METRICS = ("fd", "kid", "pr")


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

    def __init__(self, what: str, paths: list[str] | None = None, source: Any = None):
        self.what, self.paths, self.source = what, paths, source

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


def _records(args: list[str], stream: Any = None) -> list[str]:
    from artkit.records import read_records

    return [r.path for r in read_records(args, stdin=stream)]


def samples_set(samples: list[str] | None, n: int | None) -> ImageSet:
    import itertools

    from artkit.errors import UsageError
    from artkit.records import read_records

    paths = [r.path for r in itertools.islice(read_records(samples or []), n)]
    if len(paths) < 2:
        raise UsageError(f"need at least 2 sample images, got {len(paths)}")
    return ImageSet("samples", paths)


def reference_set(ref: str, n: int | None, side: int) -> ImageSet:
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
        raise UsageError(f"--ref {ref}: one image is not a reference; give a folder or a dataset")
    if paths is not None:
        paths = paths[: n or None]
        if len(paths) < 2:
            raise UsageError(f"--ref {ref}: need at least 2 images, found {len(paths)}")
        return ImageSet("reference", paths)
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(ref)
    datasets = get_registry("datasets")
    if name not in datasets:
        raise UsageError(
            f"--ref {ref}: neither a folder nor a dataset (datasets: {', '.join(e.name for e in datasets)})"
        )
    source = datasets.get(name).create(options, resolution=side, channels=3)
    if n is not None and n < len(source):
        source = _Head(source, n)
    return ImageSet("reference", source=source)


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
    images: ImageSet, extractor: Any, device: Any, batch_size: int, *, cache: bool, about: str
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
    metrics: Annotated[str, typer.Option(help="Comma-separated: fd, kid, pr.")] = "fd,kid,pr",
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
    side = max(sample_set.first_size())
    ref_set = reference_set(ref, n, side)

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
    result = compare(
        sample_stats, ref_stats, chosen, k=k,
        kid_subsets=kid_subsets, kid_subset_size=kid_subset_size,
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
    if "pr" in chosen:
        report["k"] = k
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
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{value}" for name, value in rows)
