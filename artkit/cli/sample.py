"""``artkit sample`` and ``artkit interpolate``: images and latent walks from a checkpoint.

Sampling streams (:mod:`artkit.api.sample_files`, which ``Model.save_samples``
uses too): each batch is generated while earlier ones are encoded in threads, and
every path is printed as soon as its file exists, so memory stays flat for any
``-n`` and the next command in a pipe starts at once. Never imports torchvision.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.api.seeds import check_seed_span, parse_seed_ranges, parse_seeds
from artkit.cli.options import ImageFormat, JsonRecords, NullSeparated, image_format
from artkit.errors import UsageError


def attach(app: typer.Typer) -> None:
    app.command("sample")(sample)
    app.command("interpolate")(interpolate)


def sample(
    checkpoint: Annotated[
        str,
        typer.Argument(
            help="weights.safetensors, a run folder, or a model spec that needs no training."
        ),
    ],
    n: Annotated[int, typer.Option("-n", help="How many images (seeds start at --seed).")] = 16,
    seed: Annotated[
        int | None, typer.Option("--seed", help="First seed. (default: global --seed or 0)")
    ] = None,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Exact seeds, e.g. 0-99,120 (overrides -n).")
    ] = None,
    truncation: Annotated[
        float, typer.Option(help="Scale latents toward the mean: <1 safer, >1 wilder.")
    ] = 1.0,
    temperature: Annotated[
        float | None,
        typer.Option(help="Same as --truncation (the VAE word for it); recorded as both."),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            help="Every image of this class (a model trained with classes=K): a name such as A, "
            "or a number."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Images per forward pass.")
    ] = 64,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("samples"),
    fmt: ImageFormat = "png",
    grid: Annotated[
        Path | None,
        typer.Option(help="Also write a contact sheet of the first 256 images here."),
    ] = None,
    audio: Annotated[
        bool,
        typer.Option(
            "--audio", help="Also render sound beside each file (media that can, such as MIDI)."
        ),
    ] = False,
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Generate images, one file per seed with provenance inside; prints each path as it is written."""

    from artkit.api.model import Model
    from artkit.api.models import open_model, weights_file
    from artkit.api.sample_files import write_samples
    from artkit.cli.context import say, settings
    from artkit.device import resolve_device, resolve_precision
    from artkit.records import OutputClosed, RecordWriter

    fmt = image_format(fmt)
    if n < 1 or batch_size < 1:
        raise UsageError("-n and --batch-size must be at least 1")
    truncation, scale = _latent_scale(truncation, temperature)
    glob = settings()
    device = resolve_device(glob.device)
    precision = resolve_precision(glob.precision, device)
    net, ckpt = open_model(checkpoint, device)
    model = Model(net, ckpt, device, precision)
    net.require("sample")
    if device.type == "cpu":
        from artkit.allocator import tune_allocator

        tune_allocator()  # each batch's activations stay in the heap, as in training
    options: dict[str, Any] = {}
    if label is not None:
        from artkit.render.models import sampling_keywords

        accepted, rest = sampling_keywords(net)
        if "label" not in accepted and not rest:
            raise UsageError(
                f"--label: model {model.name!r} draws no chosen class (fastgan and shapegan "
                "trained with classes=K do)"
            )
        class_index = getattr(net, "class_index", None)
        if callable(class_index):  # a one-line error before anything is written
            class_index(label)
        options["label"] = label
    from artkit.media import ImageMedium, medium_of

    medium = medium_of(net)
    if grid is not None:
        from artkit.media import refuse_foreign

        refuse_foreign(grid, option="--grid")
    if ckpt.get("checkpoint"):
        # so `artkit reproduce` finds the weights again from the image alone
        ckpt["checkpoint_path"] = os.path.relpath(weights_file(checkpoint), out)
    start = seed if seed is not None else (glob.seed or 0)
    # a collection, not an iterator: the writer checks every target before it writes
    seed_list = parse_seed_ranges(seeds) if seeds else check_seed_span(start, n)
    provenance = model.provenance("sample", **scale, **({"options": options} if options else {}))
    # images take --format; another medium writes its own first suffix
    suffix = f".{fmt}" if medium is ImageMedium else medium.suffixes[0]
    writer = RecordWriter(json=as_json, null=null)
    thumbs: list[Any] = []
    previews: list[str] | None = None if medium is ImageMedium else []
    word = "images" if medium is ImageMedium else f"{suffix} files"  # music: ".mid files"

    def keep_thumbs(items: list[Any]) -> None:
        if grid is not None and previews is None and len(thumbs) < 256:
            thumbs.extend(items[: 256 - len(thumbs)])

    written = write_samples(
        model,
        seed_list,
        out,
        provenance,
        suffix=suffix,
        truncation=truncation,
        batch_size=batch_size,
        audio=audio,
        on_batch=keep_thumbs,
        **options,
    )
    say(f"sampling {len(seed_list)} {word} from {model.name} on {device} -> {out}/")
    try:
        for path, s in written:
            if grid is not None and previews is not None and len(previews) < 256:
                previews.append(str(path))  # another medium's files: pictured once written
            writer.write(str(path), seed=s)
    except OutputClosed:
        written.close()
        return
    if grid is not None and previews and callable(getattr(medium, "preview", None)):
        from artkit.media import picture

        thumbs = [picture(p, mode="RGB") for p in previews]
    if grid is not None and thumbs:
        from artkit.grid import make_grid
        from artkit.images import save_image

        save_image(
            make_grid(thumbs), grid, provenance={**provenance, "seeds": f"first {len(thumbs)}"}
        )
        say(f"contact sheet: {grid}")


def interpolate(
    checkpoint: Annotated[str, typer.Argument(help="weights.safetensors or a run folder.")],
    seeds: Annotated[
        str | None,
        typer.Option("--seeds", help="Key seeds to walk through, e.g. 1,7,42. [default: 0,1,2]"),
    ] = None,
    latents: Annotated[
        list[Path] | None,
        typer.Option(
            "--latents",
            help="Walk through your own latents instead of seeds: a latents file from "
            "`artkit project` (repeat for more; a file with several keys gives them all, in order).",
        ),
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames in the whole animation.")] = 60,
    slerp: Annotated[
        bool,
        typer.Option(
            "--slerp/--lerp", help="Spherical interpolation (smoother for Gaussian latents)."
        ),
    ] = True,
    loop: Annotated[
        bool,
        typer.Option(
            "--loop/--no-loop",
            help="Walk back to the first seed so the animation loops seamlessly.",
        ),
    ] = True,
    truncation: Annotated[float, typer.Option(help="Latent scale, as for sample.")] = 1.0,
    temperature: Annotated[
        float | None, typer.Option(help="Same as --truncation (the VAE word for it).")
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 24.0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="walk.gif, walk.webp, walk.png (APNG) or walk.mp4 [default: walk.gif]; "
            "a model with another medium (MIDI) joins the frames into one file of it "
            "[default: walk.mid].",
        ),
    ] = None,
) -> None:
    """Render a latent walk through key seeds (or --latents files) as an animation; prints its path."""
    from artkit import __version__
    from artkit.animation import write_animation
    from artkit.api.model import Model
    from artkit.api.models import open_model
    from artkit.cli.context import say, settings
    from artkit.device import resolve_device, resolve_precision

    truncation, scale = _latent_scale(truncation, temperature)
    if latents and seeds is not None:
        raise UsageError("give --seeds or --latents, not both")
    if latents and (truncation != 1.0 or temperature is not None):
        raise UsageError("--truncation scales seed latents; --latents are walked as they are")
    keys = [] if latents else list(parse_seeds(seeds or "0,1,2"))
    if not latents and len(keys) < 2:
        raise UsageError("--seeds needs at least two seeds to walk between")
    if frames < 2:
        raise UsageError("--frames must be at least 2")
    device = resolve_device(settings().device)
    precision = resolve_precision(settings().precision, device)
    model, ckpt = open_model(checkpoint, device)
    from artkit.media import is_image, medium_of, refuse_foreign, require, walk_output, write_walk
    from artkit.model import LatentSampler  # torch is loaded by now

    if not isinstance(model, LatentSampler):
        model.require("sample")
    medium = medium_of(model)
    if not is_image(medium):  # one line before any work: the medium can join, -o fits it
        require(medium, "join", "way to join a walk's frames into one file (join)")
        refuse_foreign(walk_output(medium, out, "walk"), inputs=latents or ())
    else:
        refuse_foreign(out or Path("walk.gif"), inputs=latents or ())
    if latents:
        from artkit.api.latents import key_latents
        from artkit.cli.context import warn

        names, z_keys = key_latents(latents, model, ckpt, warn)
        if len(names) < 2:
            raise UsageError("--latents holds one latent; give at least two to walk between")
        from artkit.checkpoint import sha256_file

        origin: dict[str, Any] = {
            "latents": [p.name for p in latents],
            "latents_sha256": [sha256_file(p) for p in latents],
            "keys": names,
        }
    else:
        z_keys = model.latents_for_seeds(keys, truncation)
        origin = {"seeds": keys}
    images = Model(model, ckpt, device, precision).walk_latents(
        z_keys, frames, slerp=slerp, loop=loop
    )
    provenance = {
        "artkit": __version__,
        "command": "interpolate",
        "model": model.registry_name,
        **origin,
        "frames": frames,
        "slerp": slerp,
        "loop": loop,
        **scale,
        "precision": precision.name,
        **ckpt,
    }
    if not is_image(medium):
        written = write_walk(medium, images, out, "walk", provenance)
        say(f"{len(images)} frames joined -> {written}")
        print(written, flush=True)
        return
    written = write_animation(
        images, out or Path("walk.gif"), fps=fps, loop=True, provenance=provenance
    )
    say(f"{len(images)} frames -> {written}")
    print(written, flush=True)


def _latent_scale(truncation: float, temperature: float | None) -> tuple[float, dict[str, float]]:
    """``--temperature`` is ``--truncation`` by its VAE name: the scale and its provenance keys."""
    if temperature is None:
        return truncation, {"truncation": truncation}
    if truncation != 1.0 and truncation != temperature:
        raise UsageError("--temperature and --truncation are the same setting; give one")
    return temperature, {"truncation": temperature, "temperature": temperature}
