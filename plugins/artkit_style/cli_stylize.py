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

from pathlib import Path
from typing import Annotated

import typer

from artkit.cli.options import JsonRecords, NullSeparated, image_format
from artkit.errors import UsageError

METHODS = ("auto", "gatys", "fast")
SAMPLE_PREFIX = "sample:"
ANIMATED_SUFFIXES = (".gif", ".webp", ".png")


def attach(app: typer.Typer) -> None:
    app.command("stylize")(stylize)


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
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Apply a style to images: Gatys optimisation, or a trained fast network with --model."""
    from artkit.cli.context import say, settings
    from artkit.records import OutputClosed, RecordWriter, read_records

    fmt = image_format(fmt)
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
    from artkit_style.stylize_io import parse_style_weights
    from artkit_style.stylize_runs import run_fast, run_gatys

    try:
        if method == "fast":
            run_fast(model_path, size, batch_size, known=len(contents or []), **common)
        else:
            run_gatys(
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
