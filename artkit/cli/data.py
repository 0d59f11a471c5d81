"""``artkit data``: look at a dataset before training on it.

- ``artkit data info DATASET[:k=v,...]``: count, resolution, channels, fingerprint,
  decoded-cache state, skipped files (with reasons) and what the dataset knows about
  its sources (for ``folder``: the images' modes and smallest / largest sizes, read
  from file headers without decoding).
- ``artkit data preview DATASET[:k=v,...] -n 64 -o grid.png``: a contact sheet of
  ``n`` items (the first ones, or seeded random ones with ``--shuffle``), saved with
  provenance; prints its path (``--json``: ``{"path": ...}``).
- ``artkit data cache [--clear]``: the entries of the decoded-dataset cache.
- ``artkit data check DATASET [--write-exclude FILE]``: unreadable files, exact and
  near duplicates, tiny images and odd modes (:mod:`artkit.data_check`); the list
  it writes is what ``folder:path=DIR,exclude=FILE`` leaves out. Reads only.

``DATASET`` is the spec ``artkit train --data`` takes (``folder:path=art/``,
``glyphs:chars=a-z``). Datasets are built at ``--resolution`` / ``--channels``
(64 and 3 by default), exactly as a model of that size would get them. None of
this imports torch.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonLines, JsonObject
from artkit.errors import UsageError, printable

#: artkit.data_check.DEFAULT_THRESHOLD, written out so `artkit --help` need not import the
#: checker (tests/test_data_check.py keeps the two equal)
DUPLICATE_THRESHOLD = 12

#: skipped files listed by ``data info`` unless ``--skipped`` says otherwise
SHOW_SKIPPED = 5
#: indices stored in a preview's provenance
MAX_INDICES = 1000
SAVE_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")

DATASET_HELP = (
    "Dataset spec, e.g. shapes, folder:path=art/ or glyphs:chars=a-z (see `artkit list datasets`)."
)
#: the size and channels ``info`` and ``preview`` build a dataset at
BuildResolution = Annotated[
    str,
    typer.Option("--resolution", "-r", help="Side (64) or HEIGHTxWIDTH (32x64) to build it at."),
]
BuildChannels = Annotated[
    int,
    typer.Option("--channels", help="1 (grey), 3 (RGB) or 4 (RGBA); tracks for piano rolls."),
]


def attach(app: typer.Typer) -> None:
    data_app = typer.Typer(
        help="Inspect datasets: counts, skipped files, contact sheets, the decoded cache.",
        no_args_is_help=True,
    )
    data_app.command("info")(info)
    data_app.command("preview")(preview)
    data_app.command("cache")(cache)
    data_app.command("check")(check)
    app.add_typer(data_app, name="data")


# --------------------------------------------------------------------------- helpers


def parse_resolution(text: str | int) -> int | str:
    """``--resolution``: a side (``64``) or ``HEIGHTxWIDTH`` (``32x64``), as configs spell it."""
    from artkit.config_checks import image_size, resolution_value

    try:
        height, width = image_size(text)
    except ValueError:
        raise UsageError(
            f"--resolution {text!r}: give a side (64) or HEIGHTxWIDTH (32x64), each at least 1"
        ) from None
    return resolution_value(height, width)


def build_source(spec: str, resolution: int | str, channels: int) -> Any:
    """The dataset a spec names, built at ``resolution`` (a side or ``"HxW"``) x ``channels``."""
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    resolution = parse_resolution(resolution)
    name, options = parse_spec(spec)
    entry = get_registry("datasets").get(name)
    if channels not in (1, 3, 4) and not _other_channels(entry, channels):
        raise UsageError(f"--channels {channels} must be 1 (grey), 3 (RGB) or 4 (RGBA)")
    return entry.create(options, resolution=resolution, channels=channels)


#: the most channels asked of a dataset whose channels are not colours
MAX_TRACKS = 64


def _other_channels(entry: Any, channels: int) -> bool:
    """True when ``entry`` is a dataset whose channels are not colours (piano-roll tracks,
    say: its ``test_channels`` name a count that is not 1, 3 or 4) and ``channels`` fits."""
    declared = tuple(entry.extra.get("test_channels", ()) or ())
    not_colours = any(c not in (1, 3, 4) for c in declared)
    return channels in declared or (not_colours and 1 <= channels <= MAX_TRACKS)


def _cache_state(source: Any) -> dict[str, Any]:
    """``{"state": "hit" | "stored" | "none" | "off", "path": ...}`` for this source."""
    try:
        from artkit import dataset_cache as cache
    except ImportError:  # the built-in data plugin is not installed
        return {"state": "off"}

    if not cache.enabled():
        return {"state": "off"}
    state = "hit" if getattr(source, "cache_hit", False) else "none"
    pattern = f"*-{source.fingerprint()}-{source.resolution}-{source.channels}.npy"
    found = sorted(cache.cache_dir().glob(pattern))
    if found and state == "none":
        state = "stored"
    out: dict[str, Any] = {"state": state}
    if found:
        out["path"] = str(found[0])
    return out


def _folder_sources(source: Any) -> dict[str, Any] | None:
    """Modes and smallest / largest sizes of a folder dataset's files (headers only)."""
    root, files = getattr(source, "root", None), getattr(source, "files", None)
    if not isinstance(root, Path) or not isinstance(files, list):
        return None
    if callable(getattr(source, "preview_image", None)):
        return None  # its files are not pictures (MIDI for piano rolls, say)
    from PIL import Image

    modes: Counter[str] = Counter()
    sizes: list[tuple[int, int]] = []
    for rel in files:
        try:
            with Image.open(root / rel) as im:  # reads the header, decodes nothing
                modes[im.mode] += 1
                sizes.append(im.size)
        except Exception:  # changed since the dataset was built: not worth failing over
            continue
    if not sizes:
        return None

    def area(size: tuple[int, int]) -> tuple[int, tuple[int, int]]:
        return size[0] * size[1], size

    return {
        "source_modes": dict(modes.most_common()),
        "source_min_size": "{}x{}".format(*min(sizes, key=area)),
        "source_max_size": "{}x{}".format(*max(sizes, key=area)),
    }


def _label(source: Any, index: int) -> str:
    label = getattr(source, "label", None)
    if callable(label):
        try:
            return str(label(index))
        except Exception:
            pass
    files = getattr(source, "files", None)
    if isinstance(files, list) and len(files) == len(source):
        return str(files[index])
    return f"#{index}"


# --------------------------------------------------------------------------- commands


def info(
    dataset: Annotated[str, typer.Argument(help=DATASET_HELP)],
    resolution: BuildResolution = "64",
    channels: BuildChannels = 3,
    skipped: Annotated[
        int, typer.Option("--skipped", help="How many skipped files to list (with reasons).")
    ] = SHOW_SKIPPED,
    as_json: JsonObject = False,
) -> None:
    """Count, size, fingerprint, cache state and skipped files of a dataset."""
    from artkit.data import describe

    source = build_source(dataset, resolution, channels)
    report: dict[str, Any] = {"dataset": dataset, **describe(source)}
    report["cache"] = _cache_state(source)
    skipped_list = list(getattr(source, "skipped", None) or [])
    report["skipped_first"] = [[str(w), str(r)] for w, r in skipped_list[: max(0, skipped)]]
    summary = getattr(source, "summary", None)
    if callable(summary):
        report.update(summary())
    folder = _folder_sources(source)
    if folder:
        report.update(folder)
    excluded = getattr(source, "excluded", None)
    if isinstance(excluded, list) and excluded:  # folder:exclude=FILE
        report["excluded"] = len(excluded)
    if as_json:
        print(json.dumps(report))
        return
    rows = [
        ("dataset", dataset),
        ("count", report["count"]),
        ("resolution", report["resolution"]),
        ("channels", report["channels"]),
        ("fingerprint", report["fingerprint"]),
    ]
    state = report["cache"]
    rows.append(("cache", state["state"] + (f" ({state['path']})" if "path" in state else "")))
    rows.append(("skipped", len(skipped_list)))
    skip_keys = {"dataset", "count", "resolution", "channels", "fingerprint", "cache", "skipped"}
    for key, value in report.items():
        if key in skip_keys or key == "skipped_first":
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            shown = 8 if key != "files" else 3
            value = ", ".join(map(str, value[:shown])) + (
                f", ... ({len(value)} in all)" if len(value) > shown else ""
            )
        rows.append((key, value))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for what, why in report["skipped_first"]:
        print(f"  {what}: {why}")
    more = len(skipped_list) - len(report["skipped_first"])
    if more > 0 and report["skipped_first"]:
        print(f"  ... and {more} more (--skipped N to list them)")


def preview(
    dataset: Annotated[str, typer.Argument(help=DATASET_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Sheet file: .png, .webp or .jpg.")],
    n: Annotated[int, typer.Option("-n", help="How many items to show.")] = 64,
    resolution: BuildResolution = "64",
    channels: BuildChannels = 3,
    shuffle: Annotated[
        bool, typer.Option("--shuffle", help="Seeded random items instead of the first n.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --shuffle.")] = 0,
    cols: Annotated[
        int | None,
        typer.Option("--cols", "-c", help="Columns (default: ceil(sqrt(n)))."),
    ] = None,
    gap: Annotated[int, typer.Option("--gap", help="Pixels of background around every cell.")] = 2,
    labels: Annotated[
        bool, typer.Option("--labels", help="Write each item's name under it.")
    ] = False,
    background: Annotated[
        str, typer.Option("--background", help="Sheet colour (shows through transparency).")
    ] = "white",
    as_json: Annotated[bool, typer.Option("--json", help='Print {"path": ...} instead.')] = False,
) -> None:
    """A contact sheet of a dataset's items, as a model would see them; prints its path."""

    from artkit import __version__
    from artkit.grid import make_grid
    from artkit.images import save_image
    from artkit.media import refuse_foreign

    refuse_foreign(out)  # before reading the dataset: never over a file artkit did not write
    if n < 1:
        raise UsageError(f"-n {n} must be at least 1")
    if out.suffix.lower() not in SAVE_SUFFIXES:
        shown = repr(out.suffix) if out.suffix else "no suffix"
        raise UsageError(
            f"-o {str(out)!r}: cannot write a contact sheet as {shown}; use .png, .webp or .jpg"
        )
    source = build_source(dataset, resolution, channels)
    total = len(source)
    k = min(n, total)
    indices = sorted(random.Random(seed).sample(range(total), k)) if shuffle else list(range(k))
    shown_as = getattr(source, "preview_image", None)
    if callable(shown_as):
        # items that are not pixels (piano rolls): the source draws each one
        sheet = make_grid(
            [shown_as(i) for i in indices],
            columns=cols,
            padding=gap,
            background=background,
            labels=[_label(source, i) for i in indices] if labels else None,
        )
    else:
        sheet = _pixel_sheet(source, indices, channels, cols, gap, background, labels)
    provenance = {
        "artkit": __version__,
        "command": "data preview",
        "dataset": dataset,
        "resolution": parse_resolution(resolution),
        "channels": channels,
        "fingerprint": source.fingerprint(),
        "count": total,
        "shown": k,
        "indices": indices[:MAX_INDICES],
        "shuffle": shuffle,
    }
    if shuffle:
        provenance["seed"] = seed
    path = save_image(sheet, out, provenance=provenance)
    print(json.dumps({"path": str(path)}) if as_json else str(path))


def _pixel_sheet(
    source: Any,
    indices: list[int],
    channels: int,
    cols: Any,
    gap: int,
    background: str,
    labels: bool,
) -> Any:
    """A contact sheet of items drawn as pixels (uint8 (H, W, C); other C: picture_array)."""
    import numpy as np
    from PIL import Image

    from artkit.grid import grid_from_array, make_grid
    from artkit.media import picture_array

    items = np.stack([np.asarray(source[i], dtype=np.uint8) for i in indices])
    items = picture_array(items)  # channels that are not colours: one colour per channel
    channels = items.shape[-1] if items.ndim == 4 else 1
    if labels:
        modes = {1: "L", 3: "RGB", 4: "RGBA"}
        images = [
            Image.fromarray(a.squeeze(-1) if channels == 1 else a, modes[channels]) for a in items
        ]
        sheet = make_grid(
            images,
            columns=cols,
            padding=gap,
            background=background,
            labels=[_label(source, i) for i in indices],
        )
    else:
        sheet = grid_from_array(items, columns=cols, padding=gap, background=background)
    return sheet


def cache(
    clear: Annotated[bool, typer.Option("--clear", help="Delete every entry.")] = False,
    as_json: JsonLines = False,
) -> None:
    """List (or --clear) the decoded-dataset cache: arrays kept so runs skip decoding."""
    from artkit.cli.context import say

    try:
        from artkit import dataset_cache as store
    except ImportError:
        raise UsageError(
            "the dataset cache belongs to the built-in data plugin (artkit_data), which is not installed"
        ) from None

    if clear:
        removed = [p for p in store.clear() if p.suffix == ".npy"]
        say(f"removed {len(removed)} cached datasets from {store.cache_dir()}")
        return
    entries = store.entries()
    if as_json:
        for entry in entries:
            print(json.dumps(entry))
        return
    if not entries:
        state = "" if store.enabled() else " (turned off by ARTKIT_DATA_CACHE)"
        say(f"no cached datasets in {store.cache_dir()}{state}")
        return
    for entry in entries:
        shape = "x".join(str(d) for d in entry["shape"] or [])
        print(f"{entry['bytes'] / 1e6:9.1f} MB  {shape:<18} {entry['path']}")


def check(
    dataset: Annotated[str, typer.Argument(help=DATASET_HELP)],
    resolution: Annotated[
        str,
        typer.Option(
            "--resolution",
            "-r",
            help="Training resolution (64 or HEIGHTxWIDTH): images with a shorter side below "
            "half of its shorter side are tiny.",
        ),
    ] = "64",
    channels: Annotated[
        int, typer.Option("--channels", help="Built-in datasets: 1 (grey), 3 (RGB) or 4 (RGBA).")
    ] = 3,
    threshold: Annotated[
        int,
        typer.Option(
            "--threshold",
            "-t",
            help="Near-duplicates: most differing bits of the 64-bit perceptual hash.",
        ),
    ] = DUPLICATE_THRESHOLD,
    write_exclude: Annotated[
        Path | None,
        typer.Option(
            "--write-exclude",
            help="Write the files to drop (unreadable, tiny, extra duplicates) as an exclude "
            "list for folder:path=DIR,exclude=FILE.",
        ),
    ] = None,
    show: Annotated[
        int, typer.Option("--show", help="How many findings of each kind to list.")
    ] = 10,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Threads reading files (default: CPUs).")
    ] = None,
    as_json: JsonObject = False,
) -> None:
    """Unreadable files, exact and near duplicates, tiny images and odd modes; reads only."""
    from artkit import data_check
    from artkit.cli.context import say
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers} must be at least 1")
    if write_exclude is not None:
        # fail before reading thousands of files, not after
        if get_registry("datasets").get(parse_spec(dataset)[0]).name != "folder":
            raise UsageError(
                "--write-exclude: exclude lists are for folder datasets (folder:path=DIR)"
            )
        data_check.check_exclude_target(write_exclude)
    from artkit.config_checks import image_size

    side = min(image_size(parse_resolution(resolution)))  # the shorter side decides "tiny"
    report = data_check.check_dataset(
        dataset, resolution=side, channels=channels, threshold=threshold, workers=workers
    )
    if as_json:
        print(json.dumps(report.to_dict()))
    else:
        _print_check(report, max(0, show))
    if write_exclude is not None:
        path = data_check.write_exclude(report, write_exclude)
        n = len(report.drops()) + len(report.excluded)
        say(f"wrote {n} paths to {path}; train with {_with_exclude(dataset, path)}")


def _with_exclude(spec: str, path: Path) -> str:
    """``spec`` with ``exclude=path`` (replacing an exclude= it had)."""
    from artkit.registry import parse_spec

    name, options = parse_spec(spec)
    options.pop("exclude", None)
    options["exclude"] = str(path)
    return (
        name
        + ":"
        + ",".join(f'{k}="{v}"' if "," in v or "=" in v else f"{k}={v}" for k, v in options.items())
    )


def _print_check(report: Any, show: int) -> None:
    """The human-readable report: a row per check, the first ``show`` findings under it."""
    rows: list[tuple[str, str, list[str]]] = []
    excluded = f" ({len(report.excluded)} left out by exclude=)" if report.excluded else ""
    rows.append(("dataset", report.dataset, []))
    unit = "file" if report.root else "item"
    rows.append(("checked", _count(report.checked, unit) + excluded, []))
    if "unreadable" in report.checks:
        lines = [f"{p}: {why}" for p, why in report.unreadable]
        rows.append(("unreadable", str(len(report.unreadable)), lines))
    extra = sum(len(g) - 1 for g in report.exact)
    lines = [" = ".join(g) for g in report.exact]
    rows.append(("exact duplicates", _groups(len(report.exact), extra), lines))
    extra = sum(len(g) - 1 for g in report.near)
    lines = [g[0][0] + " ~ " + ", ".join(f"{p} ({d} bits)" for p, d in g[1:]) for g in report.near]
    rows.append(
        (
            "near duplicates",
            _groups(len(report.near), extra) + f" (threshold {report.threshold} of 64 bits)",
            lines,
        )
    )
    if "tiny" in report.checks:
        lines = [f"{p}: {w}x{h}" for p, w, h in report.tiny]
        what = f" (shorter side below {report.min_side} px, for --resolution {report.resolution})"
        rows.append(("tiny", f"{len(report.tiny)}{what}", lines))
    if "odd" in report.checks:
        lines = [f"{p}: {mode}" for p, mode in report.odd]
        rows.append(("odd modes", f"{len(report.odd)} (reported, not dropped)", lines))
    if report.root is None:
        rows.append(("not checked", "unreadable, tiny, odd modes (folder datasets only)", []))
    drops = len(report.drops())
    hint = " (--write-exclude FILE lists them)" if drops and report.root else ""
    rows.append(("to drop", _count(drops, unit) + hint, []))
    width = max(len(key) for key, _, _ in rows)
    for key, value, lines in rows:
        print(f"{key:<{width}}  {printable(value)}")
        for line in lines[:show]:
            print(f"  {printable(line)}")
        if len(lines) > show:
            print(f"  ... and {len(lines) - show} more (--show N, or --json for all)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _groups(groups: int, extra: int) -> str:
    """``2 groups, 3 extra copies`` (or ``0``)."""
    if not groups:
        return "0"
    return f"{_count(groups, 'group')}, {extra} extra {'copy' if extra == 1 else 'copies'}"
