"""``artkit eval SAMPLES --ref REFERENCE``: how close generated images are to real ones.

SAMPLES are image paths or folders (or, with none, the records on stdin, so
``artkit sample ... | artkit eval --ref data/`` works); REFERENCE is a folder or a
dataset spec (``shapes:count=2000``), rendered at the samples' size. Metrics: ``fd``
(Fréchet distance), ``kid`` (kernel inception distance, mean and std over subsets),
``pr`` (precision and recall). The output always names the features: it says FID
only when the standard FID Inception weights were used.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

METRICS = ("fd", "kid", "pr")


def attach(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def _metrics(text: str) -> list[str]:
    from artkit.errors import UsageError

    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in chosen if m not in METRICS]
    if bad or not chosen:
        raise UsageError(f"--metrics {text!r}: use some of {', '.join(METRICS)}")
    return chosen


def _folder_fingerprint(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        st = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def eval_command(
    samples: Annotated[
        list[str] | None, typer.Argument(help="Generated images or folders (default: stdin).")
    ] = None,
    ref: Annotated[
        str, typer.Option("--ref", "-r", help="Reference: a folder of images or a dataset spec.")
    ] = "",
    metrics: Annotated[str, typer.Option(help="Comma-separated: fd, kid, pr.")] = "fd,kid,pr",
    features: Annotated[
        str,
        typer.Option(
            help="Feature extractor: auto (inception with FID weights, else random-conv), "
            "inception, vgg16, random-conv, checkpoint:path=RUN."
        ),
    ] = "auto",
    weights: Annotated[
        Path | None, typer.Option(help="Weights file for the extractor (FID Inception .pth).")
    ] = None,
    n: Annotated[int | None, typer.Option("-n", help="Use at most N images of each set.")] = None,
    k: Annotated[int, typer.Option("-k", help="Neighbours for precision/recall.")] = 3,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 64,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Recompute the reference statistics.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score generated images against a reference: FD/FID, KID, precision and recall."""
    import itertools

    from artkit.cli.context import say, settings
    from artkit.device import resolve_device
    from artkit.errors import UsageError
    from artkit.images import load_image
    from artkit.records import read_records

    chosen = _metrics(metrics)
    if not ref:
        raise UsageError("give the reference with --ref FOLDER or --ref DATASET_SPEC")
    if n is not None and n < 2:
        raise UsageError("-n must be at least 2")
    if batch_size < 1 or k < 1:
        raise UsageError("--batch-size and -k must be at least 1")
    sample_paths = [r.path for r in itertools.islice(read_records(samples or []), n)]
    if len(sample_paths) < 2:
        raise UsageError(f"need at least 2 sample images, got {len(sample_paths)}")

    import torch

    from artkit.eval.features import get_features, identity
    from artkit.eval.stats import (
        batches_of,
        compare,
        feature_stats,
        to_batch,
    )

    device = resolve_device(settings().device)
    notice = (lambda m: None) if settings().quiet else (lambda m: say(f"notice: {m}"))
    extractor = get_features(
        features, weights=str(weights) if weights else None, device=device, notice=notice
    )
    size = extractor.input_size
    first = load_image(sample_paths[0])
    side = max(first.size)

    def images(paths: list[str]) -> Any:
        for path in paths:
            yield load_image(path)

    with torch.inference_mode():
        sample_stats = feature_stats(
            (to_batch(b, size) for b in batches_of(images(sample_paths), batch_size)),
            extractor,
            device,
        )
        ref_stats, ref_count, cached = _reference(
            ref, n, side, size, batch_size, extractor, device, identity(extractor), no_cache
        )
    result = compare(sample_stats, ref_stats, chosen, k=k)
    label = "FID" if extractor.standard_fid else f"FD ({extractor.name})"
    report = {
        **result,
        "features": extractor.name,
        "standard_fid": bool(extractor.standard_fid),
        "fd_label": label,
        "samples": sample_stats.count,
        "reference": ref_count,
        "reference_cached": cached,
    }
    if as_json:
        print(json.dumps(report))
        return
    print(f"features   {extractor.name}" + ("" if extractor.standard_fid else "  (not FID)"))
    print(f"images     {sample_stats.count} samples, {ref_count} reference")
    if "fd" in result:
        print(f"{label:<10} {result['fd']:.4f}")
    if "kid" in result:
        print(f"KID        {result['kid']:.5f} ± {result['kid_std']:.5f}")
    if "precision" in result:
        print(f"precision  {result['precision']:.4f}")
        print(f"recall     {result['recall']:.4f}")


def _reference(
    ref: str, n: int | None, side: int, size: int, batch_size: int, extractor: Any,
    device: Any, extractor_id: str, no_cache: bool,
) -> tuple[Any, int, bool]:  # fmt: skip
    """Reference statistics (from the cache when the same reference was seen before)."""

    from artkit.errors import UsageError
    from artkit.eval.stats import (
        batches_of,
        cache_path,
        feature_stats,
        load_cached,
        store,
        to_batch,
    )
    from artkit.records import expand_paths

    path = Path(ref).expanduser()
    if path.exists():
        paths = expand_paths([str(path)])[: n or None]
        if len(paths) < 2:
            raise UsageError(f"--ref {ref}: need at least 2 images, found {len(paths)}")
        fingerprint = "folder:" + _folder_fingerprint(paths)
        source = None
    else:
        from artkit.plugins import get_registry
        from artkit.registry import parse_spec

        name, options = parse_spec(ref)
        source = get_registry("datasets").get(name).create(options, resolution=side, channels=3)
        fingerprint = f"dataset:{source.fingerprint()}@{side}"
        paths = []
    count = min(n or 10**12, len(paths) if source is None else len(source))
    key = cache_path(fingerprint, f"{extractor_id}@{size}", count)
    if not no_cache:
        hit = load_cached(key)
        if hit is not None:
            return hit, hit.count, True

    def batches() -> Any:
        if source is None:
            from artkit.images import load_image

            for batch in batches_of((load_image(p) for p in paths), batch_size):
                yield to_batch(batch, size)
        else:  # through PIL like the samples, so both sets are resized the same way
            from PIL import Image

            for start in range(0, count, batch_size):
                stop = min(count, start + batch_size)
                items = [Image.fromarray(source[i].squeeze()) for i in range(start, stop)]
                yield to_batch(items, size)

    stats = feature_stats(batches(), extractor, device)
    store(key, stats, {"reference": ref, "features": extractor_id})
    return stats, stats.count, False
