"""``artkit project``: find the latent from which a GAN draws each given picture.

A thin wrapper over :func:`artkit.api.project.project` (how the search works and
what the distances mean is told there). For each input it writes ``DIR/NAME.png``,
the reconstruction with its provenance (the source's sha256, steps, seed and
final distances), and ``DIR/NAME.safetensors``, the latent in the latents format
``artkit encode`` writes, so ``artkit interpolate RUN --latents A --latents B``
walks between projected pictures. Prints each PNG's path as it is written (or
``--json`` records). Torch is imported inside the command only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import ImageFormat, JsonRecords, NullSeparated, image_format
from artkit.errors import UsageError


def attach(app: typer.Typer) -> None:
    app.command("project")(project)


def _check_targets(picture: Path, latents: Path, source: str) -> None:
    """Never overwrite the input, nor a picture or latents file artkit did not write."""
    from artkit.checkpoint import read_header
    from artkit.images import read_provenance

    for target in (picture, latents):
        if not target.exists():
            continue
        try:
            same = os.path.samefile(target, source)
        except OSError:
            same = False
        if same:
            raise UsageError(f"{target}: this is the input image; choose another -o")
        try:
            if target == picture:
                ours = read_provenance(target) is not None
            else:
                ours = read_header(target).metadata.get("artkit.kind") == "latents"
        except Exception:  # unreadable: certainly not ours to replace
            ours = False
        if not ours:
            raise UsageError(
                f"{target} exists and was not written by artkit; remove it or choose another -o"
            )


def project(
    checkpoint: Annotated[
        str,
        typer.Argument(help="A GAN's weights.safetensors or run folder (dcgan, fastgan ...)."),
    ],
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Pictures or folders to project; with none, paths (or JSON records) from stdin."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("projected"),
    steps: Annotated[int, typer.Option(help="Optimisation steps per picture.")] = 300,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the start candidates and latent noise. (default: global --seed or 0)"
        ),
    ] = None,
    features: Annotated[
        str,
        typer.Option(
            help="Extractor of the perceptual term: random-conv (no weights), or a style "
            "extractor: vgg16, vgg19 (with their weights), random-multiscale."
        ),
    ] = "random-conv",
    pixel_weight: Annotated[
        float, typer.Option(help="Weight of the pixel MSE beside the perceptual distance.")
    ] = 1.0,
    fmt: ImageFormat = "png",
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Project pictures into a GAN: the latent that best redraws each one; prints each output path.

    Usage: artkit project RUN IMAGE... -o DIR. Writes DIR/NAME.png (the
    reconstruction) and DIR/NAME.safetensors (its latent) per picture; pictures
    are centre-cropped and resized to the model's size.
    """
    from artkit.api.model import Model
    from artkit.api.models import open_model, weights_file
    from artkit.api.naming import OutputNames
    from artkit.api.project import project as run_projection
    from artkit.api.project import save_latents
    from artkit.cli.context import say, settings, warn
    from artkit.device import resolve_device, resolve_precision
    from artkit.images import save_image
    from artkit.records import NO_INPUT_MESSAGE, OutputClosed, RecordWriter, read_records

    fmt = image_format(fmt)
    if steps < 1:
        raise UsageError(f"--steps {steps}: give at least 1 step (a few hundred project well)")
    glob = settings()
    device = resolve_device(glob.device)
    precision = resolve_precision(glob.precision, device)
    net, ckpt = open_model(checkpoint, device)
    net.eval()
    model = Model(net, ckpt, device, precision)
    if ckpt.get("checkpoint"):
        # as `artkit sample` does: the weights are found again from the picture alone
        ckpt["checkpoint_path"] = os.path.relpath(weights_file(checkpoint), out)
    names = OutputNames(out)
    planned: list[tuple[Path, Path]] = []

    records = read_records(images or [])

    def inputs() -> Any:
        # checked as each picture comes up, before its search starts
        for record in records:
            stem = _stem(record.path)
            picture = names(stem, f".{fmt}", source=record.path)
            latents = picture.with_suffix(".safetensors")
            _check_targets(picture, latents, record.path)
            planned.append((picture, latents))
            yield record.path

    start = seed if seed is not None else (glob.seed or 0)
    writer = RecordWriter(json=as_json, null=null)
    count = 0
    results = run_projection(
        model, inputs(), steps=steps, seed=start, features=features,
        pixel_weight=pixel_weight, notice=warn,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    say(f"projecting into {model.name} on {device}, {steps} steps each -> {out}/")
    try:
        for result in results:
            picture, latents = planned[count]
            count += 1
            save_latents(latents, [result], model)
            save_image(result.image, picture, provenance=result.provenance)
            say(
                f"{result.source}: pixel MSE {result.pixel_mse:.4f}, feature distance "
                f"{result.feature_distance:.4f} ({result.seconds:.1f} s) -> {picture}"
            )
            writer.write(
                picture,
                source=result.source,
                latents=str(latents),
                pixel_mse=result.pixel_mse,
                feature_distance=result.feature_distance,
                seconds=round(result.seconds, 3),
            )
    except OutputClosed:
        return
    if count == 0:
        raise UsageError(NO_INPUT_MESSAGE)


def _stem(path: str) -> str:
    """``a/b/cat.jpg`` -> ``cat`` (file-system safe)."""
    import re

    from artkit.api.images import source_stem

    return re.sub(r"[^\w.+-]+", "_", source_stem(path)).strip("._") or "image"
