"""``SERIES.toml``: what a series is, read and checked before anything is computed.

A spec names the model(s), the sweep, the post-processing chain, the output-name
template, and optional grid sheets and latent walks::

    series = "emoji-faces"
    out = "renders"                       # relative to this file (--out overrides)
    template = "{series}/{checkpoint}/{seed:05d}-t{truncation}"
    format = "webp"                       # png (default), webp or jpg; or end the template so
    quality = 90                          # for webp and jpg
    post = ["grade:contrast=1.1", "sharpen"]

    [model]
    checkpoint = "../runs/emoji/weights.safetensors"   # or a model spec, e.g. "cppn:width=256"

    [sweep]
    combine = "product"                   # or "zip"
    seed = "0-999"
    truncation = [0.6, 0.8, 1.0]

    [[sheet]]
    rows = "truncation"
    columns = "seed"
    limit = 8
    out = "{series}/sheet.png"

    [[walk]]
    seeds = [1, 7, 42]
    frames = 48
    out = "{series}/walk.gif"

A model whose samples are not pictures (a music model writes MIDI: its medium,
:mod:`artkit.media`) renders a series of its own files: end the template with the
medium's suffix (``"{series}/s{seed:04d}.mid"``); ``audio = true`` also writes a
``.wav`` beside each where the medium makes sound; sheets show the medium's
previews (piano rolls); a walk joins its frames into one file of the medium (a
medley, ``out = "{series}/medley.mid"``); ``format``, ``quality`` and ``post`` are
for pictures only.

A series with a ``content`` axis stylises those images instead of sampling: with
fast-style networks when ``style`` (or ``checkpoint``) lists ``.safetensors`` files,
or by Gatys optimisation when ``style`` lists style *images* -- then a ``[stylize]``
table sets Gatys options (``size``, ``steps``, ``extractor``, ``style_weight``...)
and any of them may be swept as an axis. Every other sweep key
is an axis: a single value or a list; ``seed`` also takes ranges like ``"0-99,120"``.
Unknown keys and bad values are one-line :class:`UsageError` messages that name the
key, raised before any model is loaded.

No torch here: ``artkit render --dry-run`` stays instant.
"""

from __future__ import annotations

import difflib
import functools
import glob
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.api.seeds import SeedRanges, parse_seed_ranges
from artkit.errors import UsageError
from artkit.render.template import ANIMATION_SUFFIXES, check_template, image_format

TOP_KEYS = (
    "series",
    "description",
    "out",
    "template",
    "format",
    "quality",
    "batch_size",
    "post",
    "audio",
    "model",
    "sweep",
    "sheet",
    "walk",
    "stylize",
)
MODEL_KEYS = ("checkpoint", "style")
SHEET_KEYS = ("rows", "columns", "limit", "where", "out", "cell")
WALK_KEYS = ("seeds", "frames", "fps", "loop", "slerp", "where", "out")
#: Axes whose values are files (or model specs): templates see a short label instead.
PATH_AXES = ("checkpoint", "style", "content")
#: Fields every template may use besides the axes.
BUILTIN_FIELDS = ("series", "index")
_SERIES_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --------------------------------------------------------------------------- axes


@functools.lru_cache(maxsize=4096)
def _relpath(path: str, base: str) -> str:
    import os

    return os.path.relpath(path, base)


def path_label(value: str) -> str:
    """A short name for a file or model spec, for templates and sheet labels.

    ``runs/emoji/weights.safetensors`` -> ``emoji`` (generic file names take their
    folder's name); ``styles/ink.safetensors`` -> ``ink``; ``cppn:width=64`` ->
    ``cppn-width-64``.
    """
    text = value.replace("\\", "/").rstrip("/")
    if is_model_spec(text):
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"
    path = Path(text)
    if path.stem in ("weights", "best", "latest", "model") and path.parent.name:
        return path.parent.name
    return path.stem or path.name or "model"


@dataclass(frozen=True)
class Axis:
    """One swept setting: its name and values (files keep their resolved paths)."""

    name: str
    values: Sequence[Any]

    def label(self, value: Any) -> Any:
        """What templates and sheets show for ``value``."""
        return path_label(str(value)) if self.name in PATH_AXES else value

    def describe(self) -> str:
        if isinstance(self.values, SeedRanges):
            return repr(self.values)
        shown = [str(self.label(v)) for v in list(self.values[:6])]
        more = f", ... ({len(self.values)} in all)" if len(self.values) > 6 else ""
        return ", ".join(shown) + more


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class SheetSpec:
    rows: str
    columns: str
    limit: int
    where: dict[str, Any]
    out: str
    cell: int | None


@dataclass(frozen=True)
class WalkSpec:
    seeds: list[int]
    frames: int
    fps: float
    loop: bool
    slerp: bool
    where: dict[str, Any]
    out: str


@dataclass(frozen=True)
class SeriesSpec:
    path: Path
    series: str
    description: str
    template: str
    out: Path
    format: str
    quality: int
    batch_size: int
    post: tuple[str, ...]
    combine: str
    task: str  # "sample" or "stylize"
    axes: tuple[Axis, ...]
    method: str = "sample"  # "sample", "fast" (style networks) or "gatys" (style images)
    stylize: dict[str, Any] = field(default_factory=dict)  # Gatys options from [stylize]
    sheets: tuple[SheetSpec, ...] = ()
    walks: tuple[WalkSpec, ...] = ()
    fields: tuple[str, ...] = field(default=())
    medium: str = "image"  # what the template writes (artkit.media): "image", "midi"...
    audio: bool = False  # also a .wav beside each file (media with sound only)

    def axis(self, name: str) -> Axis:
        for axis in self.axes:
            if axis.name == name:
                return axis
        raise KeyError(name)

    @property
    def items_word(self) -> str:
        """What the series is made of, in messages: "images", or "midi files"..."""
        return "images" if self.medium == "image" else f"{self.medium} files"

    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    @functools.cached_property
    def base_dir(self) -> str:
        """The spec's folder: file values are written relative to it."""
        return str(self.path.resolve().parent)

    def portable(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with file values as written relative to the spec (for manifests)."""
        import os

        base = self.base_dir
        out = {}
        for name, value in params.items():
            if name in PATH_AXES and os.path.isabs(str(value)):
                value = _relpath(str(value), base)
            out[name] = value
        return out

    @property
    def model_axis(self) -> Axis:
        """The axis naming the model: ``checkpoint``, or ``style`` for fast-style series."""
        return next(a for a in self.axes if a.name in MODEL_KEYS)


def _unknown(keys: Sequence[str], allowed: Sequence[str], where: str) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            prefix = f"{where}." if where else ""
            raise UsageError(f"{prefix}{key}: unknown key; {hint}allowed: {', '.join(allowed)}")


def _int(value: Any, key: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{key}: expected a whole number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise UsageError(f"{key}: {value} must be {bound}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{key}: expected a number, got {value!r}")
    return float(value) if isinstance(value, float) else value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{key}: expected a non-empty string, got {value!r}")
    return value


_MODEL_SPEC = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*(:[A-Za-z_][\w-]*=[^/\\]*)?$")


def is_model_spec(text: str) -> bool:
    """``cppn`` or ``cppn:scale=1.5,width=256`` (a registry name and options), not a path."""
    return ":" in text and "/" not in text and "\\" not in text and bool(_MODEL_SPEC.match(text))


def _resolve_file(text: str, base: Path) -> str:
    """Paths are relative to the spec's folder; model specs (``cppn:w=64``) stay as they are."""
    if is_model_spec(text) and not (base / text).exists():
        return text
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base / path))


def _content_files(values: list[Any], base: Path, key: str) -> list[str]:
    from artkit.images import is_image_path

    files: list[str] = []
    for value in values:
        text = _str(value, key)
        pattern = text if Path(text).is_absolute() else str(base / text)
        if any(c in text for c in "*?["):
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if is_image_path(p))
            if not matches:
                raise UsageError(f"{key}: {text!r} matches no images")
            files.extend(matches)
        elif Path(pattern).is_dir():
            matches = sorted(str(p) for p in Path(pattern).rglob("*") if is_image_path(p))
            if not matches:
                raise UsageError(f"{key}: folder {text!r} has no images")
            files.extend(matches)
        elif Path(pattern).is_file():
            files.append(pattern)
        else:
            raise UsageError(f"{key}: {text!r}: no such image, folder or pattern")
    return files


def _axis(name: str, value: Any, base: Path) -> Axis:
    key = f"sweep.{name}"
    if name == "seed":
        return Axis(name, parse_seed_ranges(value, key=key))
    values = value if isinstance(value, list) else [value]
    if not values:
        raise UsageError(f"{key}: an empty list; give at least one value")
    if name in MODEL_KEYS:
        return Axis(name, tuple(_resolve_file(_str(v, key), base) for v in values))
    if name == "content":
        return Axis(name, tuple(_content_files(values, base, key)))
    if name in ("truncation", "temperature"):
        numbers = tuple(_number(v, key) for v in values)
        if any(v <= 0 for v in numbers):
            raise UsageError(f"{key}: values must be greater than 0")
        return Axis(name, numbers)
    if name == "size":
        return Axis(name, tuple(_int(v, key, 16, 8192) for v in values))
    for v in values:
        if isinstance(v, dict | list):
            raise UsageError(f"{key}: values must be numbers, strings or booleans, got {v!r}")
    return Axis(name, tuple(values))


def _model_axis(doc: dict[str, Any], sweep: dict[str, Any], base: Path) -> tuple[Axis, bool]:
    """The axis naming the model, and whether it is really a Gatys series' style images."""
    model = doc.get("model", {})
    if not isinstance(model, dict):
        raise UsageError('model: expected a table, e.g. [model] checkpoint = "weights.safetensors"')
    _unknown(list(model), MODEL_KEYS, "model")
    given = {
        f"{where}.{k}": v
        for where, table in (("model", model), ("sweep", sweep))
        for k, v in table.items()
        if k in MODEL_KEYS
    }
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} both name the model; give one")
    if not given:
        raise UsageError(
            "model.checkpoint: missing; name a weights file, a run folder or a model spec"
        )
    key, value = next(iter(given.items()))
    values = value if isinstance(value, list) else [value]
    if key == "sweep.style" and values and all(_is_style_image(v) for v in values):
        # style *images*: a Gatys series, no model file at all
        return Axis("style", tuple(_content_files(values, base, key))), True
    axis = _axis(key.split(".")[1], value, base)
    if isinstance(value, list) and key.startswith("model."):
        raise UsageError(f"{key}: one checkpoint here; sweep several with sweep.checkpoint")
    return axis, False


def _is_style_image(value: Any) -> bool:
    from artkit.images import is_image_path

    return isinstance(value, str) and (is_image_path(value) or any(c in value for c in "*?["))


def _order_axes(axes: list[Axis], combine: str) -> list[Axis]:
    """Product order: model outermost (loaded once each), content next, seed innermost (batched)."""
    if combine == "zip":
        return axes
    rank = {"checkpoint": 0, "style": 0, "content": 1}
    inner = [a for a in axes if a.name == "seed"]
    rest = [a for a in axes if a.name != "seed"]
    return sorted(rest, key=lambda a: rank.get(a.name, 2)) + inner


def _stylize_table(table: Any, method: str) -> dict[str, Any]:
    if table is None:
        return {}
    if method != "gatys":
        raise UsageError("stylize: only for series whose sweep.style lists style images (Gatys)")
    if not isinstance(table, dict):
        raise UsageError("stylize: expected a table of Gatys options, e.g. steps = 100")
    from artkit.render.stylizers import stylizer

    check_option = stylizer("gatys").check_option

    return {k: check_option(k, v, f"stylize.{k}") for k, v in table.items()}


def _where(value: Any, key: str, axes: dict[str, Axis]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{key}: expected a table of axis = value")
    out = {}
    for name, v in value.items():
        if name not in axes:
            raise UsageError(f"{key}.{name}: not an axis of this series ({', '.join(axes)})")
        axis = axes[name]
        matches = [x for x in axis.values if x == v or axis.label(x) == v]
        if name != "seed" and not matches:
            raise UsageError(f"{key}.{name}: {v!r} is not one of the axis's values")
        if name == "seed" and (
            isinstance(v, bool) or not isinstance(v, int) or v not in axis.values
        ):
            raise UsageError(f"{key}.{name}: {v!r} is not one of the series' seeds")
        out[name] = matches[0] if matches else v
    return out


def _sheet(i: int, table: Any, axes: dict[str, Axis], fields: list[str]) -> SheetSpec:
    key = f"sheet[{i}]"
    if not isinstance(table, dict):
        raise UsageError(f"{key}: expected a table ([[sheet]])")
    _unknown(list(table), SHEET_KEYS, key)
    for which in ("rows", "columns"):
        name = table.get(which)
        if name is None:
            raise UsageError(f"{key}.{which}: missing; name an axis ({', '.join(axes)})")
        if name not in axes:
            raise UsageError(f"{key}.{which}: {name!r} is not an axis ({', '.join(axes)})")
    if table["rows"] == table["columns"]:
        raise UsageError(f"{key}: rows and columns must be two different axes")
    limit = _int(table.get("limit", 16), f"{key}.limit", 1, 256)
    cell = table.get("cell")
    cell = _int(cell, f"{key}.cell", 8, 2048) if cell is not None else None
    out = table.get("out", f"{{series}}/sheet-{table['rows']}-by-{table['columns']}.png")
    check_template(out, key=f"{key}.out", known=BUILTIN_FIELDS, suffixes=(".png", ".webp", ".jpg"))
    return SheetSpec(
        rows=table["rows"],
        columns=table["columns"],
        limit=limit,
        where=_where(table.get("where"), f"{key}.where", axes),
        out=out,
        cell=cell,
    )


def _walk(
    i: int, table: Any, axes: dict[str, Axis], task: str, suffixes: Sequence[str]
) -> WalkSpec:
    key = f"walk[{i}]"
    if task != "sample":
        raise UsageError(f"{key}: latent walks need a sampling series (this one stylises content)")
    if not isinstance(table, dict):
        raise UsageError(f"{key}: expected a table ([[walk]])")
    _unknown(list(table), WALK_KEYS, key)
    seeds = table.get("seeds")
    seeds = list(parse_seed_ranges(seeds, key=f"{key}.seeds")) if seeds is not None else []
    if len(seeds) < 2:
        raise UsageError(f"{key}.seeds: give at least two seeds to walk through, e.g. [1, 7, 42]")
    frames = _int(table.get("frames", 48), f"{key}.frames", 2, 10000)
    fps = _number(table.get("fps", 24), f"{key}.fps")
    if not 0 < fps <= 120:
        raise UsageError(f"{key}.fps: {fps} must be between 0 and 120")
    for flag in ("loop", "slerp"):
        if not isinstance(table.get(flag, True), bool):
            raise UsageError(f"{key}.{flag}: expected true or false")
    where = _where(table.get("where"), f"{key}.where", axes)
    if "seed" in where:
        raise UsageError(f"{key}.where.seed: a walk takes its seeds from {key}.seeds")
    out = table.get("out", f"{{series}}/walk-{i}{suffixes[0]}")
    check_template(out, key=f"{key}.out", known=BUILTIN_FIELDS, suffixes=suffixes)
    return WalkSpec(
        seeds=seeds,
        frames=frames,
        fps=float(fps),
        loop=table.get("loop", True),
        slerp=table.get("slerp", True),
        where=where,
        out=out,
    )


#: a spec is a page of TOML; anything much larger is not one (and is not read whole)
MAX_SPEC_BYTES = 1 << 20


def load_spec(path: str | Path, *, out: Path | None = None) -> SeriesSpec:
    """Read and validate a series spec; every problem is a one-line UsageError."""
    path = Path(path)
    name = path.name
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise UsageError(f"{path}: larger than {MAX_SPEC_BYTES >> 20} MiB; not a series spec")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such series spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nested array or table
        raise UsageError(f"{name}: nested too deeply to be a series spec") from None
    try:
        return parse_spec_dict(doc, base=path.resolve().parent, path=path, out=out)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from None


def parse_spec_dict(
    doc: dict[str, Any], *, base: Path, path: Path | None = None, out: Path | None = None
) -> SeriesSpec:
    _unknown(list(doc), TOP_KEYS, "")
    series = _str(doc.get("series"), "series") if "series" in doc else None
    if series is None:
        raise UsageError('series: missing; give the series a name, e.g. series = "nebula"')
    if not _SERIES_NAME.match(series):
        raise UsageError(f"series: {series!r} must be a simple name (letters, digits, . _ -)")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise UsageError("description: expected a string")

    sweep = doc.get("sweep", {})
    if not isinstance(sweep, dict):
        raise UsageError('sweep: expected a table, e.g. [sweep] seed = "0-99"')
    combine = sweep.get("combine", "product")
    if combine not in ("product", "zip"):
        raise UsageError(f'sweep.combine: {combine!r}; use "product" or "zip"')
    first, gatys = _model_axis(doc, sweep, base)
    axes = [first]
    for key, value in sweep.items():
        if key in ("combine", *MODEL_KEYS):
            continue
        if key in TOP_KEYS:
            raise UsageError(
                f"sweep.{key}: {key!r} is a top-level key; move it above the [sweep] table"
            )
        if not key.isidentifier():
            raise UsageError(f"sweep.{key}: axis names must be plain identifiers")
        if key in BUILTIN_FIELDS:
            raise UsageError(f"sweep.{key}: {key!r} is reserved for templates")
        axes.append(_axis(key, value, base))
    task = "stylize" if any(a.name == "content" for a in axes) else "sample"
    method = "gatys" if gatys else ("fast" if task == "stylize" else "sample")
    if gatys and task != "stylize":
        raise UsageError("sweep.content: style images need content images to stylise")
    if task == "sample" and not any(a.name == "seed" for a in axes):
        axes.append(Axis("seed", SeedRanges([(0, 0)])))
    stylize_options = _stylize_table(doc.get("stylize"), method)
    for a in axes:
        if method == "fast" and a.name not in ("checkpoint", "style", "content", "size"):
            raise UsageError(
                f"sweep.{a.name}: a fast-style series sweeps content, style (networks) and size"
            )
        if method == "gatys" and a.name not in ("style", "content"):
            from artkit.render.stylizers import stylizer

            check_option = stylizer("gatys").check_option

            for v in a.values[:1000]:
                check_option(a.name, v, f"sweep.{a.name}")
    if combine == "zip":
        lengths = {a.name: len(a.values) for a in axes if len(a.values) > 1}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} has {v}" for k, v in lengths.items())
            raise UsageError(f"sweep.combine: zip needs axes of equal length ({shown})")
    axes = _order_axes(axes, combine)
    axes_by_name = {a.name: a for a in axes}

    template = doc.get("template")
    if template is None:
        raise UsageError(
            'template: missing; e.g. template = "{series}/{seed:05d}-t{truncation}.png"'
        )
    fmt_given = doc.get("format")
    found = _template_medium(template)
    if fmt_given is not None:
        fmt_given = _str(fmt_given, "format").lower().replace("jpeg", "jpg")
        if fmt_given not in ("png", "webp", "jpg"):
            raise UsageError(f"format: {fmt_given!r}; use png, webp or jpg")
        if found is not None and found.name != "image":
            raise UsageError(f"format: is for pictures; this template writes {found.name} files")
        if found is None:
            template = f"{template}.{fmt_given}"  # the template names the file, format the type
            found = _template_medium(template)
    if found is None:
        raise UsageError(
            f"template: {template!r} must end with one of {', '.join(_all_suffixes())}"
        )
    picture = found.name == "image"
    fields = check_template(
        template,
        key="template",
        known=[*BUILTIN_FIELDS, *axes_by_name],
        suffixes=tuple(found.suffixes),
    )
    varying = [a.name for a in axes if len(a.values) > 1]
    if "index" not in fields:
        missing = [n for n in varying if n not in fields]
        if missing:
            need = ", ".join(f"{{{n}}}" for n in missing)
            raise UsageError(
                f"template: several images would share one name; add {need} (or {{index}})"
            )
    fmt = image_format(template) if picture else Path(template).suffix.lower().lstrip(".")
    if fmt_given is not None and fmt_given != fmt:
        raise UsageError(f"format: {fmt_given!r} but the template ends in .{fmt}; make them agree")
    quality = _int(doc.get("quality", 95), "quality", 1, 100)
    batch_size = _int(doc.get("batch_size", 64), "batch_size", 1, 4096)
    post = doc.get("post", [])
    if isinstance(post, str):
        post = [post]
    if not isinstance(post, list) or not all(isinstance(p, str) and p.strip() for p in post):
        raise UsageError('post: expected a list of steps, e.g. ["grade:contrast=1.1", "sharpen"]')
    if post and not picture:
        raise UsageError(
            f"post: post-processing steps are for pictures; this series writes {found.name} files"
        )
    audio = doc.get("audio", False)
    if not isinstance(audio, bool):
        raise UsageError("audio: expected true or false")
    if audio:
        from artkit.media import check_audio

        try:
            check_audio(found)
        except UsageError:
            raise UsageError(f"audio: {found.name} files have no sound to render") from None
    if post:
        from artkit.api.post import build_chain

        try:
            build_chain(post)  # names and values checked now, so --dry-run catches them
        except UsageError as exc:
            raise UsageError(f"post: {exc}") from None

    out_dir = out
    if out_dir is None:
        # a spec may come from someone else: it writes inside its own folder, never
        # elsewhere (`artkit render --out DIR` is the user's own choice of place)
        out_text = _str(doc.get("out", "."), "out")
        out_dir = Path(out_text)
        inside = (base / out_dir).resolve()
        if (
            out_dir.is_absolute()
            or out_text.startswith("~")
            or not inside.is_relative_to(base.resolve())
        ):
            raise UsageError(
                f"out: {out_text!r} is outside the spec's folder; a series spec writes inside its "
                "own folder (give a relative path, or choose the place with --out DIR)"
            )
        out_dir = inside

    sheets_raw = doc.get("sheet", [])
    walks_raw = doc.get("walk", [])
    if not isinstance(sheets_raw, list):
        raise UsageError("sheet: write sheets as [[sheet]] tables")
    if not isinstance(walks_raw, list):
        raise UsageError("walk: write walks as [[walk]] tables")
    sheets = tuple(_sheet(i, t, axes_by_name, fields) for i, t in enumerate(sheets_raw))
    walk_suffixes = ANIMATION_SUFFIXES if picture else tuple(found.suffixes)
    walks = tuple(_walk(i, t, axes_by_name, task, walk_suffixes) for i, t in enumerate(walks_raw))
    return SeriesSpec(
        path=path or base / "series.toml",
        series=series,
        description=description,
        template=template,
        out=out_dir,
        format=fmt,
        quality=quality,
        batch_size=batch_size,
        post=tuple(post),
        combine=combine,
        task=task,
        axes=tuple(axes),
        method=method,
        stylize=stylize_options,
        sheets=sheets,
        walks=walks,
        fields=tuple(fields),
        medium=found.name,
        audio=audio,
    )


def _template_medium(template: Any) -> Any:
    """The medium whose files the template's suffix names (None: no medium's suffix).

    Pictures need no plugin (:func:`artkit.media.medium_for_path` knows their suffixes
    first); another suffix (``.mid``) is looked up among the media plugins register.
    """
    if not isinstance(template, str):
        raise UsageError("template: expected a string")
    if not Path(template).suffix:
        return None
    from artkit.media import medium_for_path

    return medium_for_path(template)


def _all_suffixes() -> list[str]:
    from artkit.media import ImageMedium
    from artkit.plugins import get_registry

    found = list(ImageMedium.suffixes)
    for entry in get_registry("media"):
        found += [s for s in getattr(entry.factory, "suffixes", ()) if s not in found]
    return found
