"""``artkit data``: look at a dataset before training on it.

- ``artkit data info DATASET[:k=v,...]``: count, resolution, channels, fingerprint,
  decoded-cache state, skipped files (with reasons) and what the dataset knows about
  its sources (for ``folder``: the images' modes and smallest / largest sizes, read
  from file headers without decoding).
- ``artkit data preview DATASET[:k=v,...] -n 64 -o grid.png``: a contact sheet of
  ``n`` items (the first ones, or seeded random ones with ``--shuffle``), saved with
  provenance; prints its path (``--json``: ``{"path": ...}``).
- ``artkit data cache [--clear]``: the entries of the decoded-dataset cache.

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
from artkit.errors import UsageError

#: skipped files listed by ``data info`` unless ``--skipped`` says otherwise
SHOW_SKIPPED = 5
#: indices stored in a preview's provenance
MAX_INDICES = 1000
SAVE_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")

DATASET_HELP = (
    "Dataset spec, e.g. shapes, folder:path=art/ or glyphs:chars=a-z (see `artkit list datasets`)."
)


def attach(app: typer.Typer) -> None:
    data_app = typer.Typer(
        help="Inspect datasets: counts, skipped files, contact sheets, the decoded cache.",
        no_args_is_help=True,
    )
    data_app.command("info")(info)
    data_app.command("preview")(preview)
    data_app.command("cache")(cache)
    app.add_typer(data_app, name="data")


# --------------------------------------------------------------------------- helpers


def build_source(spec: str, resolution: int, channels: int) -> Any:
    """The dataset a spec names, built at ``resolution`` x ``channels``."""
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    if resolution < 1:
        raise UsageError(f"--resolution {resolution} must be at least 1")
    if channels not in (1, 3, 4):
        raise UsageError(f"--channels {channels} must be 1 (grey), 3 (RGB) or 4 (RGBA)")
    name, options = parse_spec(spec)
    entry = get_registry("datasets").get(name)
    return entry.create(options, resolution=resolution, channels=channels)


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
    resolution: Annotated[
        int, typer.Option("--resolution", "-r", help="Side length to build it at.")
    ] = 64,
    channels: Annotated[int, typer.Option("--channels", help="1 (grey), 3 (RGB) or 4 (RGBA).")] = 3,
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
    resolution: Annotated[
        int, typer.Option("--resolution", "-r", help="Side length to build it at.")
    ] = 64,
    channels: Annotated[int, typer.Option("--channels", help="1 (grey), 3 (RGB) or 4 (RGBA).")] = 3,
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
    import numpy as np
    from PIL import Image

    from artkit import __version__
    from artkit.grid import grid_from_array, make_grid
    from artkit.images import save_image

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
    items = np.stack([np.asarray(source[i], dtype=np.uint8) for i in indices])
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
    provenance = {
        "artkit": __version__,
        "command": "data preview",
        "dataset": dataset,
        "resolution": resolution,
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
