"""``artkit encode``, ``decode``, ``reconstruct`` and ``morph``: images <-> latents.

These commands need a model that can ``encode``/``decode`` (the VAE family); any
other model is a one-line error naming the commands it does support. The
checkpoint (a ``weights.safetensors``, a run folder or a model spec) is always
the first argument; the images follow it or, with none, come as records on
stdin (``artkit sample ... | artkit reconstruct CKPT -o out``).

Input images are loaded upright, centre-cropped to a square and resized (Lanczos)
to the model's resolution and channels. Encoding uses the posterior mean, so the
same image gives the same latent every time and ``encode`` then ``decode`` gives
the same pixels as ``reconstruct``.

Latent files are safetensors: ``mean/<key>`` and ``logvar/<key>`` per image (the
key is the image path as given), with the model name, checkpoint hash, config and
key order in the metadata. Torch is imported inside the commands only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer

# the latents file format lives in the library; re-exported here for older imports
from artkit.api.latents import LATENTS_KIND as LATENTS_KIND
from artkit.api.latents import latents_metadata, read_latents
from artkit.cli.options import ImageFormat, JsonRecords, NullSeparated, image_format
from artkit.errors import UsageError

_CKPT_HELP = (
    "weights.safetensors or a run folder of a model that can encode (vae, beta-vae). "
    "Always the first argument."
)
_IMAGES_HELP = "Input images or folders; with none, paths (or JSON records) are read from stdin."


def attach(app: typer.Typer) -> None:
    app.command("encode")(encode)
    app.command("decode")(decode)
    app.command("reconstruct")(reconstruct)
    app.command("morph")(morph)


# --------------------------------------------------------------------------- helpers


class _Session:
    """A checkpoint opened on the chosen device (an :class:`artkit.api.model.Model`)."""

    def __init__(self, checkpoint: str, capability: str):
        from artkit import __version__
        from artkit.api.model import Model
        from artkit.api.models import open_model
        from artkit.cli.context import settings
        from artkit.device import resolve_device, resolve_precision

        glob = settings()
        self.device = resolve_device(glob.device)
        self.precision = resolve_precision(glob.precision, self.device)
        self.model, self.ckpt = open_model(checkpoint, self.device)
        self.model.require(capability)
        self.api = Model(self.model, self.ckpt, self.device, self.precision)
        self.version = __version__

    def provenance(self, command: str, **extra: Any) -> dict[str, Any]:
        return self.api.provenance(command, **extra)

    def load(self, path: str) -> Any:
        """An input image as the model sees it: square, model-sized, model mode (PIL)."""
        return self.api.prepare(path)

    def encode(self, images: list[Any]) -> tuple[Any, Any]:
        """PIL images -> (mean, logvar) float32 on the CPU."""
        return self.api.posterior(images)

    def decode(self, z: Any) -> list[Any]:
        """Latents ``(N, z_dim)`` -> PIL images (another medium's items for a MIDI model, say)."""
        return self.api.decode(z)

    @property
    def medium(self) -> Any:
        from artkit.media import medium_of

        return medium_of(self.model)

    def suffix(self, fmt: str) -> str:
        """The output suffix (no dot): ``--format`` for images, the medium's own otherwise."""
        from artkit.media import is_image

        return fmt if is_image(self.medium) else self.medium.suffixes[0].lstrip(".")

    def save(self, item: Any, path: Path, provenance: dict[str, Any]) -> Path:
        """One decoded item with its provenance, in the model's medium."""
        from artkit.media import is_image, save

        if is_image(self.medium):
            from artkit.images import save_image

            return save_image(item, path, provenance=provenance)
        return save(self.medium, item, path, provenance)


def _records(images: list[str] | None) -> Iterator[Any]:
    from artkit.records import read_records

    return read_records(images or [])


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


_UNSAFE = re.compile(r"[^\w.+-]+")


def _unique_name(key: str, suffix: str, taken: set[str]) -> str:
    """``a/b/cat.jpg`` -> ``cat.png``; a second ``cat`` becomes ``cat-2.png``."""
    stem = _UNSAFE.sub("_", Path(key).stem).strip("._") or "image"
    name, i = f"{stem}.{suffix}", 1
    while name in taken:
        i += 1
        name = f"{stem}-{i}.{suffix}"
    taken.add(name)
    return name


def _no_input() -> UsageError:
    from artkit.records import NO_INPUT_MESSAGE

    return UsageError(NO_INPUT_MESSAGE)


# --------------------------------------------------------------------------- encode


def encode(
    checkpoint: Annotated[str, typer.Argument(help=_CKPT_HELP)],
    images: Annotated[list[str] | None, typer.Argument(help=_IMAGES_HELP)] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Latents file to write (.safetensors).")
    ] = Path("latents.safetensors"),
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Images per forward pass.")
    ] = 64,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help='Also print {"path": IMAGE, "mean": [...]} per image on stdout.'
        ),
    ] = False,
) -> None:
    """Encode images to latents (posterior mean and log-variance) in one safetensors file.

    Usage: artkit encode CHECKPOINT [IMAGES...] -o latents.safetensors. Prints the
    file's path, or with --json one JSON line per image with its latent mean.
    """
    import torch

    from artkit.checkpoint import save_tensors
    from artkit.cli.context import say
    from artkit.records import OutputClosed, RecordWriter

    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"--out {str(out)!r}: latents are written as .safetensors")
    from artkit.media import refuse_foreign

    refuse_foreign(out)  # before any work: never over a file artkit did not write
    s = _Session(checkpoint, "encode")
    records = _records(images)
    means: dict[str, Any] = {}
    logvars: dict[str, Any] = {}
    for batch in _batches(records, batch_size):
        mean, logvar = s.encode([s.load(r.path) for r in batch])
        for r, m, lv in zip(batch, mean, logvar, strict=True):
            means[r.path], logvars[r.path] = m.clone(), lv.clone()
    if not means:
        raise _no_input()
    keys = list(means)
    tensors: dict[str, torch.Tensor] = {}
    for key in keys:
        tensors[f"mean/{key}"] = means[key]
        tensors[f"logvar/{key}"] = logvars[key]
    metadata = latents_metadata(s.model, s.ckpt, keys)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(out, tensors, metadata)
    say(f"encoded {len(keys)} images with {s.model.registry_name} -> {out}")
    writer = RecordWriter(json=as_json)
    try:
        if as_json:
            for key in keys:
                writer.write(key, mean=[float(v) for v in means[key].tolist()])
        else:
            writer.write(out)
    except OutputClosed:
        return


# --------------------------------------------------------------------------- decode


def decode(
    checkpoint: Annotated[str, typer.Argument(help=_CKPT_HELP)],
    latents: Annotated[Path, typer.Argument(help="A latents file written by `artkit encode`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("decoded"),
    fmt: ImageFormat = "png",
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Decode every latent in a latents file to an image named after its key; prints each path.

    Usage: artkit decode CHECKPOINT latents.safetensors -o DIR.
    """
    import torch

    from artkit.checkpoint import read_header, sha256_file
    from artkit.cli.context import say, warn
    from artkit.media import refuse_foreign
    from artkit.records import OutputClosed, RecordWriter

    fmt = image_format(fmt)
    s = _Session(checkpoint, "decode")
    pairs = read_latents(latents, s.model.z_dim)
    source_sha = read_header(latents).metadata.get("artkit.source_checkpoint_sha256")
    sha = s.ckpt.get("checkpoint_sha256")
    if source_sha and sha and source_sha != sha:
        warn(f"{latents} was encoded with another checkpoint; the images will not match")
    taken: set[str] = set()
    targets = [out / _unique_name(key, s.suffix(fmt), taken) for key, _ in pairs]
    for target in targets:  # all of them before any work
        refuse_foreign(target, inputs=[latents])
    z = torch.stack([v for _, v in pairs])
    pictures = s.decode(z)
    provenance = s.provenance("decode", latents=latents.name, latents_sha256=sha256_file(latents))
    writer = RecordWriter(json=as_json, null=null)
    out.mkdir(parents=True, exist_ok=True)
    say(f"decoding {len(pairs)} latents with {s.model.registry_name} -> {out}/")
    try:
        for (key, _), picture, target in zip(pairs, pictures, targets, strict=True):
            path = s.save(picture, target, {**provenance, "key": key})
            writer.write(path, key=key)
    except OutputClosed:
        return


# --------------------------------------------------------------------------- reconstruct


def reconstruct(
    checkpoint: Annotated[str, typer.Argument(help=_CKPT_HELP)],
    images: Annotated[list[str] | None, typer.Argument(help=_IMAGES_HELP)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "reconstructed"
    ),
    side_by_side: Annotated[
        bool,
        typer.Option(
            "--side-by-side", help="Write original (resized) | reconstruction in one image."
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Images per forward pass.")
    ] = 16,
    fmt: ImageFormat = "png",
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Encode each image to its latent mean and decode it again; prints each output path.

    Usage: artkit reconstruct CHECKPOINT [IMAGES...] -o DIR [--side-by-side].
    Output files are named after the inputs (cat.jpg -> DIR/cat.png).
    """
    from PIL import Image

    from artkit.cli.context import say
    from artkit.media import is_image, refuse_foreign
    from artkit.records import OutputClosed, RecordWriter

    fmt = image_format(fmt)
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    s = _Session(checkpoint, "encode")
    s.model.require("decode")
    if side_by_side and not is_image(s.medium):
        raise UsageError(f"--side-by-side needs images; this model writes {s.medium.name} files")
    records = _records(images)
    provenance = s.provenance("reconstruct", side_by_side=side_by_side)
    writer = RecordWriter(json=as_json, null=null)
    taken: set[str] = set()
    count = 0
    say(f"reconstructing with {s.model.registry_name} on {s.device} -> {out}/")
    try:
        for batch in _batches(records, batch_size):
            originals = [s.load(r.path) for r in batch]
            mean, _ = s.encode(originals)
            pictures = s.decode(mean)
            out.mkdir(parents=True, exist_ok=True)
            for record, original, picture in zip(batch, originals, pictures, strict=True):
                if side_by_side:
                    pair = Image.new(picture.mode, (picture.width * 2, picture.height))
                    pair.paste(original.convert(picture.mode), (0, 0))
                    pair.paste(picture, (picture.width, 0))
                    picture = pair
                path = out / _unique_name(record.path, s.suffix(fmt), taken)
                # read a batch at a time from stdin, so checked one file at a time
                refuse_foreign(path, inputs=[record.path])
                path = s.save(picture, path, {**provenance, "source": record.path})
                writer.write(path, source=record.path)
                count += 1
    except OutputClosed:
        return
    if count == 0:
        raise _no_input()


# --------------------------------------------------------------------------- morph


def morph(
    checkpoint: Annotated[str, typer.Argument(help=_CKPT_HELP)],
    images: Annotated[
        list[str] | None,
        typer.Argument(help="Two or more key images, in order; with none, read from stdin."),
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames in the whole animation.")] = 30,
    loop: Annotated[
        bool,
        typer.Option(
            "--loop/--no-loop", help="Morph back to the first image so the animation loops."
        ),
    ] = False,
    slerp: Annotated[
        bool,
        typer.Option(
            "--slerp/--lerp",
            help="Spherical or linear interpolation between the latent means.",
        ),
    ] = False,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 24.0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="morph.gif, morph.webp, morph.png (APNG) or morph.mp4 [default: morph.gif]; "
            "a model with another medium (MIDI) joins the frames into one file of it "
            "[default: morph.mid].",
        ),
    ] = None,
) -> None:
    """Morph between real images through the latent space; prints the animation's path.

    Usage: artkit morph CHECKPOINT A.png B.png [C.png ...] --frames 30 -o morph.gif.
    With --no-loop (the default) the first frame is A's reconstruction and the
    last is the last image's.
    """
    from artkit.animation import write_animation
    from artkit.api.latents import walk
    from artkit.cli.context import say

    if frames < 2:
        raise UsageError("--frames must be at least 2")
    s = _Session(checkpoint, "encode")
    s.model.require("decode")
    from artkit.media import is_image, refuse_foreign, require, walk_output, write_walk

    medium = s.medium
    if not is_image(medium):  # one line before any work: the medium can join, -o fits it
        require(medium, "join", "way to join a walk's frames into one file (join)")
        target = walk_output(medium, out, "morph")
    else:
        target = out or Path("morph.gif")
    paths = [r.path for r in _records(images)]
    if len(paths) < 2:
        raise UsageError(f"morph needs at least two images, got {len(paths)}")
    refuse_foreign(target, inputs=paths)
    mean, _ = s.encode([s.load(p) for p in paths])
    path_z = walk(mean, frames, slerp=slerp, loop=loop)
    pictures = s.decode(path_z)
    provenance = s.provenance(
        "morph", sources=paths, frames=frames, loop=loop, slerp=slerp, fps=fps
    )
    if not is_image(medium):
        written = write_walk(medium, pictures, out, "morph", provenance)
        say(f"{len(pictures)} frames through {len(paths)} inputs joined -> {written}")
        print(written, flush=True)
        return
    written = write_animation(pictures, target, fps=fps, loop=True, provenance=provenance)
    say(f"{len(pictures)} frames through {len(paths)} images -> {written}")
    print(written, flush=True)
