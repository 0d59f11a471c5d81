"""``artkit grid`` and ``artkit animate``: many images -> one contact sheet or one animation.

Both take images the way every artkit command does (DESIGN.md principle 5): paths as
arguments (folders expand to the images under them) or, with none, records on stdin --
one path a line, NUL-separated paths, or JSON objects with a ``path`` key. So
``artkit sample m.safetensors -n 64 -o s | artkit grid --labels seed -o sheet.png``
works. Each writes one file, prints its path on stdout (``--json``: ``{"path": ...}``)
and stores provenance in it (principle 6)::

    {"artkit": VERSION, "command": "grid" | "animate", "sources": [paths, first 1000],
     "source_count": N, ...the options used}

``grid`` keeps only what the sheet needs in memory: each image is shrunk to its cell
as soon as it is read (``--thumb PX``, or automatically so that the sheet stays under
:data:`SHEET_PIXEL_BUDGET` pixels, which artkit can read back). Labels come from each
image's provenance (``seed``, ``meta:KEY`` with dotted paths such as
``meta:config.z_dim``), falling back to the fields of the stdin JSON record, or from
the file name (``name``).

``animate`` keeps the input order; frames whose size differs from the first frame's
are resized (stretched) to it, with one warning. The format follows the output
suffix: ``.gif``, ``.webp``, ``.png`` (APNG) or ``.mp4`` (needs imageio-ffmpeg; see
:mod:`artkit.animation`).

Neither command imports torch or numpy: only typer here, Pillow inside the commands.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from artkit.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PIL import Image

    from artkit.records import Record

#: Sources listed in an output's provenance (the count is always stored).
MAX_SOURCES = 1000
#: Without ``--thumb``, images are shrunk as they are read so that the sheet stays
#: under this many pixels: below Pillow's decompression-bomb limit (about 89.5 M),
#: which artkit enforces when it reads an image, so the sheet can be read back.
SHEET_PIXEL_BUDGET = 64_000_000
_LABEL_BAND_ESTIMATE = 18  # upper bound of make_grid's label band, for the budget
_MIN_AUTO_THUMB = 8

LABELS_HELP = (
    "Text under each cell: seed (from the image's provenance, else the stdin JSON "
    "record), name (file stem), or meta:KEY (any provenance key; dotted paths like "
    "meta:config.z_dim)."
)


def attach(app: typer.Typer) -> None:
    app.command("grid")(grid)
    app.command("animate")(animate)


# --------------------------------------------------------------------------- helpers


def _records(images: list[str] | None) -> Iterator[Record]:
    from artkit.records import read_records

    return read_records(list(images or []))


def _no_input(images: list[str] | None) -> UsageError:
    if images and images != ["-"]:
        return UsageError(f"no input images: {', '.join(images)} hold no image files")
    return UsageError("no input images: stdin had no paths (give paths as arguments or pipe them)")


def _parse_labels(labels: str | None) -> tuple[str, list[str]] | None:
    """``seed`` / ``name`` / ``meta:KEY`` -> (kind, key path); None for no labels."""
    if labels is None:
        return None
    text = labels.strip()
    if text == "name":
        return "name", []
    if text == "seed":
        return "meta", ["seed"]
    if text.startswith("meta:"):
        key = text[len("meta:") :].strip()
        parts = key.split(".")
        if key and all(parts):
            return "meta", parts
    raise UsageError(f"--labels {labels!r}: use seed, name or meta:KEY (e.g. meta:model)")


def _lookup(data: dict[str, Any] | None, parts: list[str]) -> Any:
    """``data[a][b]...`` for ``parts`` [a, b, ...]; a whole key with dots wins; None if absent."""
    if not isinstance(data, dict):
        return None
    whole = ".".join(parts)
    if whole in data:
        return data[whole]
    value: Any = data
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _label_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _label_for(spec: tuple[str, list[str]], record: Record, image: Image.Image) -> str:
    from artkit.errors import ArtkitError
    from artkit.images import read_provenance

    kind, parts = spec
    if kind == "name":
        return Path(record.path).stem
    try:
        from artkit.media import is_image, medium_for_path

        found = medium_for_path(record.path)
        if found is not None and not is_image(found):
            provenance = found.read_provenance(record.path)  # a MIDI file, say: its own carrier
        else:
            provenance = read_provenance(image)  # load_image keeps the file's info
        if provenance is None and not record.path.lower().endswith(".png"):
            provenance = read_provenance(record.path)  # XMP that Pillow left out of info
    except ArtkitError:
        provenance = None  # corrupt provenance: the picture is still worth showing
    value = _lookup(provenance, parts)
    if value is None:
        value = _lookup({k: v for k, v in record.data.items() if k != "path"}, parts)
    return _label_text(value)


def _check_out(out: Path, suffixes: dict[str, str], what: str) -> None:
    suffix = out.suffix.lower()
    if suffix not in suffixes:
        shown = repr(out.suffix) if out.suffix else "no suffix"
        raise UsageError(
            f"-o {str(out)!r}: cannot write a {what} as {shown}; use {', '.join(suffixes)}"
        )


def _sources(paths: list[str]) -> dict[str, Any]:
    return {"sources": paths[:MAX_SOURCES], "source_count": len(paths)}


def _print_path(path: Path, as_json: bool) -> None:
    from artkit.records import OutputClosed, RecordWriter

    with contextlib.suppress(OutputClosed):  # `artkit grid ... | head -0`
        RecordWriter(json=as_json).write(str(path))


# --------------------------------------------------------------------------- grid


def grid(
    images: Annotated[
        list[str] | None,
        typer.Argument(help="Images or folders; none = read paths / JSON records from stdin."),
    ] = None,
    cols: Annotated[
        int | None,
        typer.Option("--cols", "-c", help="Columns (default: ceil(sqrt(number of images)))."),
    ] = None,
    labels: Annotated[str | None, typer.Option("--labels", help=LABELS_HELP)] = None,
    gap: Annotated[int, typer.Option("--gap", help="Pixels of background around every cell.")] = 2,
    bg: Annotated[
        str,
        typer.Option(
            "--bg", help="Background: a colour name (white, black, ...) or #rrggbb / #rrggbbaa."
        ),
    ] = "white",
    thumb: Annotated[
        int | None,
        typer.Option(
            "--thumb",
            help=(
                "Shrink each image to fit PX x PX as it is read (never enlarges). "
                "By default only as much as keeps the sheet under 64 megapixels."
            ),
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Sheet file: .png, .webp or .jpg.")
    ] = Path("sheet.png"),
    as_json: Annotated[bool, typer.Option("--json", help='Print {"path": ...} instead.')] = False,
) -> None:
    """Lay images out on one contact sheet; prints its path.

    The sheet is COLS * (cell_w + GAP) + GAP pixels wide and ROWS * (cell_h + GAP) + GAP
    high (plus a text band under each row with --labels), where the cell is the size of
    the largest (shrunk) image; smaller images are centred in their cells.
    """
    from PIL import Image, ImageColor

    from artkit import __version__
    from artkit.cli.context import say, warn
    from artkit.grid import make_grid
    from artkit.images import SAVE_SUFFIXES, save_image
    from artkit.media import picture, refuse_foreign

    if cols is not None and cols < 1:
        raise UsageError(f"--cols must be at least 1, not {cols}")
    if gap < 0:
        raise UsageError(f"--gap must be 0 or more pixels, not {gap}")
    if thumb is not None and thumb < 1:
        raise UsageError(f"--thumb must be at least 1 pixel, not {thumb}")
    try:
        ImageColor.getcolor(bg, "RGBA")
    except ValueError:
        raise UsageError(
            f"--bg {bg!r}: not a colour; use a name like white or black, or #rrggbb / #rrggbbaa"
        ) from None
    label_spec = _parse_labels(labels)
    _check_out(out, SAVE_SUFFIXES, "contact sheet")
    refuse_foreign(out)  # before reading any picture

    resample = Image.Resampling.LANCZOS
    box = thumb
    band = _LABEL_BAND_ESTIMATE if label_spec else 0
    pictures: list[Image.Image] = []
    names: list[str] = []
    paths: list[str] = []
    max_w = max_h = 0
    for record in _records(images):
        im = picture(record.path)  # another medium's file (MIDI): its preview
        if label_spec is not None:
            names.append(_label_for(label_spec, record, im))
        if box is not None:
            im.thumbnail((box, box), resample)
        im.info = {}  # provenance and friends are not needed any more
        pictures.append(im)
        paths.append(record.path)
        max_w, max_h = max(max_w, im.width), max(max_h, im.height)
        n = len(pictures)
        if thumb is None and n * (max_w + gap) * (max_h + gap + band) > SHEET_PIXEL_BUDGET:
            # Shrink what we hold so that twice as many images still fit the budget.
            cell = math.isqrt(SHEET_PIXEL_BUDGET // (2 * n)) - gap - band // 2
            side = max(_MIN_AUTO_THUMB, cell)
            if box is None or side < box:
                box = side
                for kept in pictures:
                    kept.thumbnail((box, box), resample)
                max_w = max(p.width for p in pictures)
                max_h = max(p.height for p in pictures)
                say(
                    f"grid: {n} images so far; shrinking each to fit {box}x{box} (--thumb to choose)"
                )
    if not pictures:
        raise _no_input(images)

    sheet = make_grid(
        pictures,
        columns=cols,
        padding=gap,
        background=bg,
        labels=names if label_spec is not None else None,
    )
    if sheet.width * sheet.height > (Image.MAX_IMAGE_PIXELS or math.inf):
        warn(
            f"the sheet is {sheet.width}x{sheet.height}, larger than artkit reads back; "
            "use a smaller --thumb"
        )
    columns = min(cols or math.ceil(math.sqrt(len(pictures))), len(pictures))
    provenance = {
        "artkit": __version__,
        "command": "grid",
        **_sources(paths),
        "labels": labels,
        "columns": columns,
        "gap": gap,
        "bg": bg,
        "thumb": box,
    }
    refuse_foreign(out, inputs=paths)  # nor over one of its own pictures
    written = save_image(sheet, out, provenance=provenance)
    say(f"grid: {len(pictures)} images in {columns} columns -> {written}")
    _print_path(written, as_json)


# --------------------------------------------------------------------------- animate


def animate(
    images: Annotated[
        list[str] | None,
        typer.Argument(help="Frames in order, or folders; none = read paths from stdin."),
    ] = None,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second.")] = 24.0,
    loop: Annotated[
        bool, typer.Option("--loop/--no-loop", help="Repeat for ever, or play once.")
    ] = True,
    boomerang: Annotated[
        bool,
        typer.Option("--boomerang", help="Play forwards then backwards (a b c -> a b c b)."),
    ] = False,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="out.gif, out.webp, out.png (APNG) or out.mp4."),
    ] = Path("animation.gif"),
    as_json: Annotated[bool, typer.Option("--json", help='Print {"path": ...} instead.')] = False,
) -> None:
    """Turn images into an animation, frames in input order; prints its path.

    Frames whose size differs from the first frame's are resized (stretched) to it,
    with a warning. MP4 needs the optional imageio-ffmpeg package and ignores --loop.
    """

    from PIL import Image

    from artkit import __version__
    from artkit.animation import SUPPORTED_SUFFIXES, ping_pong, write_animation
    from artkit.cli.context import say, warn
    from artkit.media import picture, refuse_foreign

    if not fps > 0 or math.isinf(fps):
        raise UsageError(f"--fps must be a positive number, not {fps}")
    _check_out(out, SUPPORTED_SUFFIXES, "animation")
    if out.suffix.lower() == ".mp4":
        from artkit.animation import require_ffmpeg

        require_ffmpeg()  # one line before any work when the optional package is missing
    refuse_foreign(out)  # before reading any frame

    frames: list[Image.Image] = []
    paths: list[str] = []
    resized = 0
    for record in _records(images):
        im = picture(record.path)  # another medium's file (MIDI): its preview
        im.info = {}
        if frames and im.size != frames[0].size:
            im = im.resize(frames[0].size, Image.Resampling.LANCZOS)
            resized += 1
        frames.append(im)
        paths.append(record.path)
    if not frames:
        raise _no_input(images)
    if resized:
        w, h = frames[0].size
        warn(f"{resized} of {len(frames)} frames were not {w}x{h} like the first; resized to it")

    sequence = ping_pong(frames) if boomerang else frames
    provenance = {
        "artkit": __version__,
        "command": "animate",
        **_sources(paths),
        "fps": fps,
        "loop": loop,
        "boomerang": boomerang,
        "frames": len(sequence),
    }
    refuse_foreign(out, inputs=paths)  # nor over one of its own frames
    written = write_animation(sequence, out, fps=fps, loop=loop, provenance=provenance)
    say(f"animate: {len(sequence)} frames at {fps:g} fps -> {written}")
    _print_path(written, as_json)
