"""``artkit stylize``: neural style transfer, by optimisation (Gatys) or a trained network.

``artkit stylize CONTENT... --style STYLE`` optimises each content image towards the
style (:mod:`artkit_style.torch_gatys`, coarse to fine, tiled above 1024 px);
``artkit stylize CONTENT... --model FAST.safetensors`` runs a trained feed-forward
network (``fast-style``) instead, in real time, on stills and on every frame of
animated GIF / WebP / APNG files (timing kept). Content comes from arguments
(files, folders, ``sample:NAME`` for the bundled photos) or stdin records; each
result is written with provenance and its path printed as soon as it exists.

torch, torchvision and the style plugin are imported inside the command.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.errors import ArtkitError, ImageError, UsageError

FORMATS = ("png", "webp", "jpg")
METHODS = ("auto", "gatys", "fast")
SAMPLE_PREFIX = "sample:"
ANIMATED_SUFFIXES = (".gif", ".webp", ".png")


def attach(app: typer.Typer) -> None:
    app.command("stylize")(stylize)


# --------------------------------------------------------------------------- sources


def load_source_image(spec: str) -> Any:
    """A content or style image: a file path, or ``sample:NAME`` for a bundled photo (RGB)."""
    from artkit.images import load_image

    if spec.startswith(SAMPLE_PREFIX):
        name = spec[len(SAMPLE_PREFIX) :]
        try:
            from artkit_data.samples import sample_image
        except ImportError:
            raise ArtkitError(
                f"{spec}: bundled sample photos need pip install 'artkit[samples]'"
            ) from None
        return sample_image(name).convert("RGB")
    return load_image(spec, mode="RGB")


def source_stem(spec: str) -> str:
    if spec.startswith(SAMPLE_PREFIX):
        return spec[len(SAMPLE_PREFIX) :] or "sample"
    return Path(spec).stem or "image"


def read_source_frames(spec: str) -> tuple[list[Any], list[int], bool, str | None]:
    """``(frames, durations_ms, loop_forever, animated_suffix)``; stills give one frame."""
    if spec.startswith(SAMPLE_PREFIX):
        return [load_source_image(spec)], [0], False, None
    suffix = Path(spec).suffix.lower()
    if suffix in ANIMATED_SUFFIXES:
        from PIL import Image

        try:
            with Image.open(spec) as im:
                count = int(getattr(im, "n_frames", 1))
        except Exception:
            count = 1  # load_image below reports the problem with the file's name
        if count > 1:
            from artkit.animation import read_frames

            frames = read_frames(spec)
            durations = [int(f.info.get("duration", 100) or 100) for f in frames]
            loop = frames[0].info.get("loop") == 0
            return frames, durations, loop, suffix
    return [load_source_image(spec)], [0], False, None


def parse_style_weights(text: str | None, count: int) -> list[float]:
    if not text:
        return [1.0 / count] * count
    try:
        weights = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--style-weights {text!r}: give numbers like 0.7,0.3") from None
    if len(weights) != count:
        raise UsageError(f"--style-weights has {len(weights)} numbers for {count} --style images")
    if any(w < 0 or w != w for w in weights) or not sum(weights) > 0:
        raise UsageError("--style-weights must be >= 0 and add up to more than 0")
    total = sum(weights)
    return [w / total for w in weights]


class OutputNames:
    """``DIR/stem.ext``, with ``-2``, ``-3`` ... when one run would write a name twice."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()

    def __call__(self, stem: str, suffix: str) -> Path:
        name, n = f"{stem}{suffix}", 1
        while name in self.used:
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.used.add(name)
        return self.folder / name


# --------------------------------------------------------------------------- progress


class StageProgress:
    """Progress with the current loss: a rich bar on a terminal, plain lines otherwise, nothing with -q."""

    def __init__(self, label: str):
        from artkit.cli.context import settings

        self.label = label
        self.quiet = settings().quiet
        self.tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self._bar: Any = None
        self._task: Any = None
        self._stage: str | None = None
        self._next_line = 0
        self.started = time.perf_counter()

    def __enter__(self) -> StageProgress:
        if not self.quiet and self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            from artkit.cli.context import err_console

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=err_console(),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int, losses: dict[str, float]) -> None:
        if self.quiet:
            return
        loss = f"{losses.get('total', float('nan')):.4g}"
        if self._bar is not None:
            if stage.split(" tile")[0] != (self._stage or "").split(" tile")[0]:
                self._task = self._bar.add_task(f"{self.label} {stage}", total=total, loss=loss)
            self._stage = stage
            self._bar.update(
                self._task, completed=done, description=f"{self.label} {stage}", loss=loss
            )
            return
        if (
            stage != self._stage
            and stage.split(" tile")[0] != (self._stage or "").split(" tile")[0]
        ):
            self._next_line = 0
        self._stage = stage
        if done >= self._next_line or done == total:
            detail = " ".join(f"{k} {v:.4g}" for k, v in losses.items() if k != "total")
            print(
                f"{self.label} {stage}: step {done}/{total} loss {loss} ({detail})",
                file=sys.stderr,
                flush=True,
            )
            self._next_line = done + max(1, total // 10)


# --------------------------------------------------------------------------- writing


def _write_animation(
    frames: list[Any], path: Path, durations: list[int], loop: bool, provenance: dict[str, Any]
) -> Path:
    """Write frames keeping each frame's duration (uniform ones through artkit.animation)."""
    from artkit.animation import write_animation

    if len(set(durations)) == 1 and durations[0] > 0:
        return write_animation(
            frames, path, fps=1000.0 / durations[0], loop=loop, provenance=provenance
        )
    import json

    from artkit.atomic import atomic_open

    rgb = [f.convert("RGB") for f in frames]
    params: dict[str, Any] = {"save_all": True, "append_images": rgb[1:], "duration": durations}
    suffix = path.suffix.lower()
    text = json.dumps(provenance, sort_keys=True, separators=(",", ":"))
    if suffix == ".gif":
        fmt = "GIF"
        params.update(disposal=2, optimize=True, comment=text)
        if loop:
            params["loop"] = 0
    elif suffix == ".webp":
        fmt = "WEBP"
        params.update(loop=0 if loop else 1, quality=90)
    else:
        fmt = "PNG"
        params.update(loop=0 if loop else 1, default_image=False)
    try:
        with atomic_open(path) as handle:
            rgb[0].save(handle, format=fmt, **params)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot write animation {str(path)!r}: {exc}") from None
    return path


def _restore_alpha(result: Any, original: Any) -> Any:
    if original.mode == "RGBA":
        out = result.convert("RGBA")
        alpha = original.getchannel("A")
        if alpha.size != out.size:
            alpha = alpha.resize(out.size)
        out.putalpha(alpha)
        return out
    return result


def _content_sha(spec: str) -> dict[str, str]:
    """The content file's sha256, so `artkit reproduce` knows it has the right picture."""
    if spec.startswith(SAMPLE_PREFIX) or not os.path.isfile(spec):
        return {}
    from artkit.checkpoint import sha256_file

    return {"content_sha256": sha256_file(spec)}


def _resize_longest(image: Any, size: int | None) -> Any:
    if not size or max(image.size) == size:
        return image
    from PIL import Image

    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------- command


def stylize(
    contents: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CONTENT...",
            help="Content images, folders or sample:NAME; none: read paths from stdin.",
            show_default=False,
        ),
    ] = None,
    style: Annotated[
        list[str] | None,
        typer.Option(
            "--style", "-s", help="Style image (repeat to blend several); file or sample:NAME."
        ),
    ] = None,
    style_weights: Annotated[
        str | None,
        typer.Option("--style-weights", help="Blend weights for several --style, e.g. 0.7,0.3."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="gatys (optimise) | fast (--model) | auto: fast when --model.")
    ] = "auto",
    model_path: Annotated[
        Path | None,
        typer.Option("--model", help="A trained fast-style .safetensors (implies --method fast)."),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(
            help="Longer side of the result in pixels. [default: 512 for gatys, the input's for fast]"
        ),
    ] = None,
    steps: Annotated[
        int, typer.Option(help="Optimiser steps per scale (gatys; L-BFGS evaluations).")
    ] = 200,
    content_weight: Annotated[float, typer.Option(help="Content loss weight.")] = 1.0,
    style_weight: Annotated[
        float | None,
        typer.Option(
            help="Style loss weight. [default: the extractor's: 500 random-multiscale, 30 vgg]"
        ),
    ] = None,
    tv_weight: Annotated[float, typer.Option(help="Total-variation (smoothness) weight.")] = 5.0,
    preserve_color: Annotated[
        bool,
        typer.Option(
            "--preserve-color/--no-preserve-color",
            "--preserve-colour/--no-preserve-colour",
            help="Keep the content's colours (see --color-mode).",
        ),
    ] = False,
    color_mode: Annotated[
        str,
        typer.Option(
            "--color-mode",
            "--colour-mode",
            help="luminance: transfer on luminance, keep content chroma | histogram: recolour the style.",
        ),
    ] = "luminance",
    init: Annotated[str, typer.Option(help="content | noise: where optimisation starts.")] = (
        "content"
    ),
    optimizer: Annotated[str, typer.Option(help="lbfgs | adam")] = "lbfgs",
    lr: Annotated[
        float | None, typer.Option(help="Learning rate. [default: lbfgs 1, adam 0.02]")
    ] = None,
    extractor_name: Annotated[
        str,
        typer.Option(
            "--extractor",
            help="Feature extractor: auto (vgg19 if weights, else random-multiscale), vgg19, vgg16, random-multiscale.",
        ),
    ] = "auto",
    weights: Annotated[
        Path | None, typer.Option(help="VGG weights (.safetensors) for the extractor.")
    ] = None,
    style_scale: Annotated[
        float,
        typer.Option(help="Style image size relative to the result (bigger: coarser strokes)."),
    ] = 1.0,
    multiscale: Annotated[
        bool,
        typer.Option(help="Coarse to fine: optimise at half size first (from 256 px up)."),
    ] = True,
    tile: Annotated[
        int, typer.Option(help="Tile size for results over 1024 px (bounded memory).")
    ] = 512,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Frames per forward pass (fast).")
    ] = 8,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("stylized"),
    fmt: Annotated[
        str, typer.Option("--format", help="png | webp | jpg for stills (animations keep theirs).")
    ] = "png",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per image.")
    ] = False,
    null: Annotated[bool, typer.Option("-0", "--null", help="NUL-separated paths.")] = False,
) -> None:
    """Apply a style to images: Gatys optimisation, or a trained fast network with --model."""
    from artkit.cli.context import say, settings
    from artkit.records import OutputClosed, RecordWriter, read_records

    fmt = fmt.lower().replace("jpeg", "jpg")
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use png, webp or jpg")
    method = method.lower()
    if method not in METHODS:
        raise UsageError(f"--method {method!r}: use gatys, fast or auto")
    if method == "auto":
        method = "fast" if model_path is not None else "gatys"
    if method == "fast" and model_path is None:
        raise UsageError(
            "--method fast needs --model FAST.safetensors (train one with `artkit train fast-style`)"
        )
    if method == "gatys" and model_path is not None:
        raise UsageError(
            "--model is a fast-style network; use it with --method fast (or leave --method out)"
        )
    if method == "gatys" and not style:
        raise UsageError("gatys style transfer needs at least one --style image")
    if color_mode not in ("luminance", "histogram"):
        raise UsageError(f"--color-mode {color_mode!r}: use luminance or histogram")
    if size is not None and not 16 <= size <= 16384:
        raise UsageError(f"--size {size}: use 16 to 16384 pixels")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    records = read_records(contents or [])
    writer = RecordWriter(json=as_json, null=null)
    glob = settings()
    common = dict(out=out, fmt=fmt, writer=writer, records=records, say=say)
    try:
        if method == "fast":
            _run_fast(model_path, size, batch_size, known=len(contents or []), **common)
        else:
            _run_gatys(
                style=list(style or []),
                style_weights=parse_style_weights(style_weights, len(style or [])),
                size=size or 512,
                steps=steps,
                content_weight=content_weight,
                style_weight=style_weight,
                tv_weight=tv_weight,
                colour=color_mode if preserve_color else None,
                init=init,
                optimizer=optimizer,
                lr=lr,
                extractor_name=extractor_name,
                weights=weights,
                style_scale=style_scale,
                multiscale=multiscale,
                tile=tile,
                seed=glob.seed or 0,
                **common,
            )
    except OutputClosed:
        return


def _run_gatys(
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
    styles_sha = [_content_sha(s).get("content_sha256") for s in style]
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
            results.append(_restore_alpha(result, frame))
            del result_t
            if device.type == "cuda":
                torch.cuda.empty_cache()
        provenance = {**base_provenance, "content": record.path, **_content_sha(record.path)}
        if anim_suffix is not None:
            path = names(label, anim_suffix)
            _write_animation(results, path, durations, loop, {**provenance, "frames": len(results)})
        else:
            path = names(label, f".{fmt}")
            save_image(results[0], path, provenance=provenance)
        extra = {k: v for k, v in record.data.items() if k != "path"}
        writer.write(str(path), **{**extra, "content": record.path})


def _run_fast(
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
    prepare = getattr(model, "prepare_for_inference", None)
    plan_text = "fp32"
    if callable(prepare):
        plan = prepare(device, glob.precision, images=known or None)
        describe = getattr(plan, "describe", None)
        plan_text = describe() if callable(describe) else str(plan)
        precision_name = plan_text
    else:
        precision_name = resolve_precision(glob.precision, device).name
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
            frames = [_resize_longest(f, size) for f in frames]
            results = []
            for start in range(0, len(frames), batch_size):
                chunk = frames[start : start + batch_size]
                # frames of one animation share a size; stills come one at a time
                batch = pil_to_tensor([f.convert("RGB") for f in chunk], 3)
                with torch.inference_mode():
                    styled = model.stylize(batch.to(device))
                for frame, image in zip(chunk, to_pil(styled.float().cpu()), strict=True):
                    results.append(_restore_alpha(image, frame))
            count += len(results)
            label = source_stem(record.path)
            provenance = {**provenance_base, "content": record.path, **_content_sha(record.path)}
            if anim_suffix is not None:
                path = names(label, anim_suffix)
                meta = {**provenance, "frames": len(results)}
                future = pool.submit(_write_animation, results, path, durations, loop, meta)
            else:
                path = names(label, f".{fmt}")
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
