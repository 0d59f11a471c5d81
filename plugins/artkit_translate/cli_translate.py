"""``artkit translate MODEL IMAGES...`` (registered by this plugin): apply a trained image-to-image model (pix2pix) to pictures.

Each input -- a file, a folder (its images), or a record on stdin -- is read in
the mode the model wants (a colourisation model takes black-and-white or colour
photos alike and reads their lightness), translated at its own size (padded to
the network's multiple and cropped back; ``--size`` resizes first; ``--tile``
works in overlapping, feathered windows, automatically above
:data:`AUTO_TILE_ABOVE` pixels) and written with provenance: the model, its
checkpoint's sha256, the options and the source, so ``artkit info`` explains
every result. Each output path is printed as soon as its file exists.

Translation is deterministic: dropout is off, so the same input gives the same
bytes. ``--noise`` turns pix2pix's dropout back on with masks drawn from
``--seed``: varied results that are still reproducible.

An image that cannot be read is reported on stderr and skipped; the command then
exits 1 after the others are done. torch is imported inside the command.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import ImageFormat, NullSeparated, image_format
from artkit.errors import ArtkitError, UsageError

#: images whose longer side exceeds this are tiled unless --no-tile
AUTO_TILE_ABOVE = 2048
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def attach(app: typer.Typer) -> None:
    app.command("translate")(translate)


def resolve_checkpoint(spec: str) -> Path:
    """A weights file, or a run folder holding ``weights.safetensors``."""
    from artkit.checkpoint import weights_file

    path = Path(spec)
    if path.is_dir():
        if weights_file(path).exists():
            return weights_file(path)
        raise UsageError(
            f"{spec}: a folder without weights.safetensors; is it an artkit run folder?"
        )
    if not path.exists():
        raise UsageError(f"{spec}: no such checkpoint file or run folder")
    return path


def load_source(spec: str) -> Any:
    """An input picture in its natural mode (L, RGB or RGBA): a file, or ``sample:NAME``."""
    from artkit.api.images import load_source_image

    return load_source_image(spec, mode=None)


def translate(
    model_spec: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A trained translation model: weights.safetensors or its run folder.",
            show_default=False,
        ),
    ],
    images: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="IMAGES...",
            help="Images, folders or sample:NAME (bundled photos); none: read paths (or JSON records) from stdin.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("translated"),
    size: Annotated[
        int | None,
        typer.Option(
            help="Resize each input so its longer side is this many pixels first. (default: as is)"
        ),
    ] = None,
    tile: Annotated[
        bool | None,
        typer.Option(
            "--tile/--no-tile",
            help=f"Translate in overlapping tiles blended together (bounded memory). (default: above {AUTO_TILE_ABOVE} px)",
        ),
    ] = None,
    tile_size: Annotated[int, typer.Option(help="Tile side in pixels.")] = 512,
    overlap: Annotated[int, typer.Option(help="Pixels shared by neighbouring tiles.")] = 64,
    noise: Annotated[
        bool,
        typer.Option(
            "--noise",
            help="Keep the model's dropout on (pix2pix's noise) with masks from --seed: varied but reproducible.",
        ),
    ] = False,
    fmt: ImageFormat = "png",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per image (with its source).")
    ] = False,
    null: NullSeparated = False,
) -> None:
    """Translate images with a trained pix2pix model (colourise, or A -> B); prints each output path.

    Example: artkit translate runs/colorize old-photos/ -o coloured/
    """
    from artkit.cli.context import say, settings, warn
    from artkit.records import OutputClosed, RecordWriter, read_records

    fmt = image_format(fmt)
    if size is not None and not 8 <= size <= 16384:
        raise UsageError(f"--size {size}: use 8 to 16384 pixels")
    if not 32 <= tile_size <= 16384:
        raise UsageError(f"--tile-size {tile_size}: use 32 to 16384 pixels")
    if not 0 <= overlap <= tile_size // 2:
        raise UsageError(f"--overlap {overlap}: use 0 to half the tile size ({tile_size // 2})")
    checkpoint = resolve_checkpoint(model_spec)
    records = read_records(images or [])
    glob = settings()
    seed = glob.seed if glob.seed is not None else 0

    import torch

    from artkit import __version__
    from artkit.api.images import resize_longest, source_stem
    from artkit.api.naming import OutputNames
    from artkit.checkpoint import load_model, read_header, sha256_file
    from artkit.device import resolve_device
    from artkit.images import save_image
    from artkit.torch_images import pil_to_tensor, to_pil

    device = resolve_device(glob.device)
    model = load_model(checkpoint, device=str(device))
    model.require("translate")
    cfg = model.config
    in_channels = getattr(cfg, "input_channels", 3)
    colorize = getattr(cfg, "task", "") == "colorize"
    provenance_base = {
        "artkit": __version__,
        "command": "translate",
        "model": model.registry_name,
        "config": model.config_dict(),
        "checkpoint": checkpoint.name,
        "checkpoint_sha256": sha256_file(checkpoint),
        "step": read_header(checkpoint).step,
        "size": size,
        "noise": noise,
        "device": device.type,
    }
    if noise:
        provenance_base["seed"] = seed
    names = OutputNames(out)
    writer = RecordWriter(json=as_json, null=null)
    say(f"translating with {model.registry_name} ({checkpoint.name}) on {device} -> {out}/")
    started, done, failed = time.perf_counter(), 0, 0
    try:
        for record in records:
            try:
                original = load_source(record.path)
            except ArtkitError as exc:
                failed += 1
                warn(str(exc))
                continue
            # named (and checked: never over its input or a file artkit did not write)
            # before the work
            path = names(source_stem(record.path), f".{fmt}", source=record.path)
            image = resize_longest(original, size)
            channels = 3 if colorize else in_channels
            wanted = _MODES[channels]
            if wanted != "RGBA" and image.mode == "RGBA":
                model_input = load_mode(image, wanted)
            else:
                model_input = image.convert(wanted)
            use_tiles = tile if tile is not None else max(image.size) > AUTO_TILE_ABOVE
            batch = pil_to_tensor([model_input], channels).to(device)
            with torch.inference_mode():
                result = model.translate(
                    batch,
                    tile=tile_size if use_tiles else None,
                    overlap=overlap,
                    noise_seed=seed if noise else None,
                )
            picture = to_pil(result.float().cpu())[0]
            if image.mode == "RGBA" and picture.mode == "RGB":
                picture.putalpha(image.getchannel("A"))
            provenance = {
                **provenance_base,
                "source": record.path,
                "tile": tile_size if use_tiles else None,
                "overlap": overlap if use_tiles else None,
            }
            save_image(picture, path, provenance=provenance, durable=False)
            extra = {k: v for k, v in record.data.items() if k != "path"}
            writer.write(str(path), **{**extra, "source": record.path})
            done += 1
    except OutputClosed:
        return
    elapsed = time.perf_counter() - started
    if failed:
        raise ArtkitError(
            f"{failed} of {done + failed} images could not be read (see the warnings above)"
        )
    if done:
        say(f"{done} image{'s' if done != 1 else ''} in {elapsed:.1f}s -> {out}/")


def load_mode(image: Any, mode: str) -> Any:
    """Drop transparency the way :func:`artkit.images.load_image` does: onto white."""
    from PIL import Image

    flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat.alpha_composite(image)
    return flat.convert(mode)
