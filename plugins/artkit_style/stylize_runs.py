"""The two ways ``artkit stylize`` runs: Gatys optimisation per image, or a trained fast network.

Both read content from records, write each result with provenance as soon as it is
done and print its path; the command in :mod:`artkit_style.cli_stylize` chooses.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from artkit.api.images import load_source_image, resize_longest, restore_alpha, source_stem
from artkit.api.naming import OutputNames
from artkit.errors import UsageError
from artkit_style.stylize_io import (
    StageProgress,
    content_sha,
    read_source_frames,
    write_animation,
)


def run_gatys(
    *,
    style: list[str],
    style_weights: list[float],
    size: int,
    steps: int,
    content_weight: float,
    style_weight: float | None,
    tv_weight: float,
    colour: str | None,
    init: str,
    optimizer: str,
    lr: float | None,
    extractor_name: str,
    weights: Path | None,
    style_scale: float,
    multiscale: bool,
    tile: int,
    seed: int,
    out: Path,
    fmt: str,
    writer: Any,
    records: Any,
    say: Any,
) -> None:
    import torch

    from artkit import __version__
    from artkit.cli.context import settings
    from artkit.device import resolve_device
    from artkit.images import save_image
    from artkit.torch_images import pil_to_tensor, to_pil
    from artkit_style.colour import finish_colour, prepare_colour
    from artkit_style.configs import default_style_weight
    from artkit_style.nn_extractors import get_extractor
    from artkit_style.torch_gatys import GatysOptions, gatys

    opts = GatysOptions(
        size=size,
        steps=steps,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        init=init,
        optimizer=optimizer,
        lr=lr,
        style_scale=style_scale,
        multiscale=multiscale,
        tile=tile,
        overlap=max(16, tile // 8),
        seed=seed,
    )
    opts.validate()
    if lr is not None and not lr > 0:
        raise UsageError(f"--lr {lr}: use a number > 0")
    device = resolve_device(settings().device)
    notice = (
        (lambda m: None) if settings().quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    )
    style_images = [load_source_image(s) for s in style]
    extractor = get_extractor(
        extractor_name, weights=str(weights) if weights else None, device=device, notice=notice
    )
    resolved_style_weight = (
        style_weight if style_weight is not None else default_style_weight(extractor)
    )
    base_provenance = {
        "artkit": __version__,
        "command": "stylize",
        "method": "gatys",
        "styles": style,
        "style_weights": style_weights,
        "extractor": extractor.name,
        "extractor_pretrained": bool(extractor.pretrained),
        "size": size,
        "steps": steps,
        "content_weight": content_weight,
        "style_weight": resolved_style_weight,
        "tv_weight": tv_weight,
        "preserve_color": colour,
        "init": init,
        "optimizer": optimizer,
        "multiscale": multiscale,
        "style_scale": style_scale,
        "seed": seed,
        "device": device.type,
    }
    styles_sha = [content_sha(s).get("content_sha256") for s in style]
    if all(styles_sha):
        base_provenance["styles_sha256"] = styles_sha
    if weights and extractor.pretrained and weights.is_file():
        from artkit.checkpoint import sha256_file

        base_provenance["extractor_weights_sha256"] = sha256_file(weights)
    names = OutputNames(out)
    say(
        f"stylizing with {extractor.name} features on {device} "
        f"({size}px, {steps} steps per scale) -> {out}/"
    )
    for record in records:
        frames, durations, loop, anim_suffix = read_source_frames(record.path)
        results = []
        label = source_stem(record.path)
        # named (and checked: never over its input or a file artkit did not write) first
        path = names(label, anim_suffix or f".{fmt}", source=record.path)
        for index, frame in enumerate(frames):
            content, styles_now = prepare_colour(colour, frame.convert("RGB"), style_images)
            content_t = pil_to_tensor([content], 3)
            style_ts = [pil_to_tensor([s], 3) for s in styles_now]
            frame_label = label if len(frames) == 1 else f"{label} frame {index + 1}/{len(frames)}"
            with StageProgress(frame_label) as progress:
                result_t = gatys(
                    content_t, style_ts, style_weights, extractor, opts, progress=progress
                )
            result = to_pil(result_t.cpu())[0]
            result = finish_colour(colour, result, frame.convert("RGB"))
            results.append(restore_alpha(result, frame))
            del result_t
            if device.type == "cuda":
                torch.cuda.empty_cache()
        provenance = {**base_provenance, "content": record.path, **content_sha(record.path)}
        if anim_suffix is not None:
            write_animation(results, path, durations, loop, {**provenance, "frames": len(results)})
        else:
            save_image(results[0], path, provenance=provenance)
        extra = {k: v for k, v in record.data.items() if k != "path"}
        writer.write(str(path), **{**extra, "content": record.path})


def run_fast(
    model_path: Path | None,
    size: int | None,
    batch_size: int,
    *,
    known: int,
    out: Path,
    fmt: str,
    writer: Any,
    records: Any,
    say: Any,
) -> None:
    import torch

    from artkit import __version__
    from artkit.checkpoint import load_model, sha256_file
    from artkit.cli.context import settings
    from artkit.device import resolve_device, resolve_precision
    from artkit.images import save_image
    from artkit.torch_images import pil_to_tensor, to_pil

    assert model_path is not None
    glob = settings()
    device = resolve_device(glob.device)
    model = load_model(model_path, device=str(device))
    model.require("stylize")
    # the model's own inference plan (fast-style: bf16 / compile); None = plain eager
    plan = model.prepare_for_inference(device, glob.precision, images=known or None)
    if plan is not None:
        describe = getattr(plan, "describe", None)
        plan_text = describe() if callable(describe) else str(plan)
        precision_name = plan_text
    else:
        precision_name = resolve_precision(glob.precision, device).name
        plan_text = precision_name
    provenance_base = {
        "artkit": __version__,
        "command": "stylize",
        "method": "fast",
        "model": model.registry_name,
        "config": model.config_dict(),
        "checkpoint": model_path.name,
        "checkpoint_sha256": sha256_file(model_path),
        "size": size,
        "device": device.type,
        "precision": precision_name,
    }
    names = OutputNames(out)
    say(
        f"stylizing with {model.registry_name} ({model_path.name}) on {device}, {plan_text} -> {out}/"
    )
    started, count = time.perf_counter(), 0
    # Encoding and writing run in a small pool while the next image is stylised; records
    # are printed in input order as soon as their file exists (memory stays bounded).
    workers = max(1, min(4, os.cpu_count() or 2))
    pending: deque[tuple[Future, dict[str, Any]]] = deque()

    def drain(limit: int) -> None:
        while len(pending) > limit:
            future, fields = pending.popleft()
            writer.write(str(future.result()), **fields)

    with ThreadPoolExecutor(workers) as pool:
        for record in records:
            frames, durations, loop, anim_suffix = read_source_frames(record.path)
            label = source_stem(record.path)
            # named (and checked: never over its input or a file artkit did not write) first
            path = names(label, anim_suffix or f".{fmt}", source=record.path)
            frames = [resize_longest(f, size) for f in frames]
            results = []
            for start in range(0, len(frames), batch_size):
                chunk = frames[start : start + batch_size]
                # frames of one animation share a size; stills come one at a time
                batch = pil_to_tensor([f.convert("RGB") for f in chunk], 3)
                with torch.inference_mode():
                    styled = model.stylize(batch.to(device))
                for frame, image in zip(chunk, to_pil(styled.float().cpu()), strict=True):
                    results.append(restore_alpha(image, frame))
            count += len(results)
            provenance = {**provenance_base, "content": record.path, **content_sha(record.path)}
            if anim_suffix is not None:
                meta = {**provenance, "frames": len(results)}
                future = pool.submit(write_animation, results, path, durations, loop, meta)
            else:
                future = pool.submit(
                    save_image, results[0], path, provenance=provenance, durable=False
                )
            extra = {k: v for k, v in record.data.items() if k != "path"}
            pending.append((future, {**extra, "content": record.path}))
            drain(workers)
        drain(0)
    elapsed = time.perf_counter() - started
    if count:
        say(f"{count} images in {elapsed:.1f}s ({count / max(elapsed, 1e-9):.1f} per second)")
