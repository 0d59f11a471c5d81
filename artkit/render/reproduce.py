"""Re-render one image from the provenance embedded in it, and compare pixels.

What can be reproduced: images from ``artkit sample`` and ``artkit render`` (a seed,
a latent scale, sampler options), after any ``artkit post`` chain (recorded under
``post``), and style transfer from ``artkit stylize`` or a stylize series: a
content image through a fast-style network, or Gatys optimisation against style
images (the same settings, run again: as slow as the first time). The checkpoint is found by the path
recorded in the image, by ``--checkpoint``, or by its sha256 among the
``.safetensors`` files under ``--search`` folders; a file with another sha256 is
never used. The re-rendered image is encoded like the original (format, quality)
before comparing, so lossy formats compare fairly.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artkit.errors import ArtkitError, UsageError

SAMPLE_COMMANDS = ("sample", "render")


@dataclass
class Comparison:
    path: str
    identical: bool
    max_difference: int  # largest absolute difference of one channel, 0..255
    differing_fraction: float  # share of pixels with any difference
    checkpoint: str | None
    note: str = ""
    medium: str = ""  # a non-image medium's name: its differences are counted in its units
    differing_units: int = 0  # that medium's count of differing units (notes, steps...)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": "identical" if self.identical else "different",
            "max_difference": self.max_difference,
            "differing_fraction": round(self.differing_fraction, 6),
            "checkpoint": self.checkpoint,
            **({"note": self.note} if self.note else {}),
            **(
                {"medium": self.medium, "differing_units": self.differing_units}
                if self.medium
                else {}
            ),
        }


# --------------------------------------------------------------------------- finding files


class CheckpointFinder:
    """Finds a checkpoint by sha256; hashes each searched file at most once."""

    def __init__(self, search: Iterable[Path], explicit: Path | None = None):
        self.search = [Path(p) for p in search]
        self.explicit = explicit
        self._hashes: dict[Path, str] = {}

    def _sha(self, path: Path) -> str:
        from artkit.checkpoint import sha256_file

        path = path.resolve()
        if path not in self._hashes:
            self._hashes[path] = sha256_file(path)
        return self._hashes[path]

    def find(self, provenance: dict[str, Any], image: Path) -> Path:
        from artkit.api.models import weights_file

        want = provenance.get("checkpoint_sha256")
        name = provenance.get("checkpoint") or "the checkpoint"
        if not want:
            raise ArtkitError(f"{image}: its provenance names no checkpoint sha256")
        if self.explicit is not None:
            path = weights_file(self.explicit)
            if not path.is_file():
                raise UsageError(f"--checkpoint {self.explicit}: no such file")
            if self._sha(path) != want:
                raise ArtkitError(
                    f"{image}: --checkpoint {path} is not the file it was made with "
                    f"(sha256 {want[:12]}...)"
                )
            return path
        # where the image is, and where it was before ``artkit post`` copied it (``source``)
        folders = [image.parent]
        source = provenance.get("source")
        if isinstance(source, str) and source:
            folders.append(Path(source).parent)
        candidates = []
        for key in ("checkpoint_path", "checkpoint"):
            recorded = provenance.get(key)
            if isinstance(recorded, str) and recorded:
                candidates += [folder / recorded for folder in folders] + [Path(recorded)]
        for path in candidates:  # only checkpoints: a recorded path may name any file
            path = weights_file(path)
            if path.suffix == ".safetensors" and path.is_file() and self._sha(path) == want:
                return path
        for folder in self.search:
            if not folder.is_dir():
                raise UsageError(f"--search {folder}: no such folder")
            for path in sorted(folder.rglob("*.safetensors")):
                if path.is_file() and self._sha(path) == want:
                    return path
        where = ", ".join(str(p) for p in self.search) or "no --search folder given"
        raise ArtkitError(
            f"{image}: cannot find {name} (sha256 {want[:12]}...): not at its recorded path; "
            f"searched {where}"
        )


def _confined(recorded: str, image: Path, search: list[Path], what: str) -> Path:
    """A file named in provenance, looked up only beside ``image`` or under a --search folder.

    A recorded path is tried relative to each of those folders, then by its bare name;
    one that resolves (``..``, symlinks) outside the folder it was looked up in is
    never used, and an absolute path only counts by its name.
    """
    relative = Path(recorded)
    for root in [image.parent, *search]:
        base = root.resolve()
        tries = [relative] if not relative.is_absolute() else []
        for candidate in [*tries, Path(relative.name)]:
            path = (base / candidate).resolve()
            if path.is_relative_to(base) and path.is_file():
                return path
    where = "beside the image" + (" or under --search" if search else " (or pass --search FOLDER)")
    raise ArtkitError(f"{image}: {what}{recorded[:80]!r} from its provenance is not {where}")


def trusted_spec(text: Any, kind: str, image: Path, search: list[Path]) -> str:
    """A ``name:key=value`` spec read from an image's provenance, made safe to run.

    Validated like command-line input (a registered name, known parameters); every
    parameter that names files (:attr:`artkit.registry.Param.files`) is looked up by
    :func:`_confined` and rewritten to the file found. Any problem fails this image
    (an ArtkitError), never the whole batch.
    """
    from artkit.api.post import format_spec
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    shown = str(text)[:80]
    if not isinstance(text, str) or len(text) > 4096:
        raise ArtkitError(f"{image}: its provenance has a bad {kind} entry {shown!r}")
    try:
        name, options = parse_spec(text)
        entry = get_registry(kind).get(name)
    except UsageError as exc:
        raise ArtkitError(f"{image}: its provenance names {shown!r}: {exc}") from None
    for param in entry.params:
        key = next((k for k in options if k.replace("-", "_") == param.name), None)
        if param.files is None or key is None or not options[key]:
            continue
        parts = options[key].split(param.files) if param.files else [options[key]]
        found = [
            part
            if part.startswith("sample:")
            else str(_confined(part, image, search, f"{name} {key}="))
            for part in parts
        ]
        options[key] = (param.files or "").join(found)
    return format_spec(name, options)


def _find_input(recorded: Any, want: str | None, image: Path, what: str) -> Path:
    """An input image named in provenance: as recorded (from the cwd), then beside the image."""
    if not isinstance(recorded, str) or not recorded:
        raise ArtkitError(f"{image}: its provenance names no {what} image")
    if recorded.startswith("sample:"):  # a bundled photo (artkit[samples])
        return Path(recorded)
    if not isinstance(want, str) or not want:  # without it any file could be read
        raise ArtkitError(f"{image}: its provenance names no sha256 for its {what} image")
    from artkit.checkpoint import sha256_file

    for path in (Path(recorded), image.parent / recorded):
        if path.is_file() and path.resolve() != image.resolve() and sha256_file(path) == want:
            return path
    raise ArtkitError(f"{image}: cannot find its {what} image {recorded!r}")


def _find_content(provenance: dict[str, Any], image: Path) -> Path:
    return _find_input(
        provenance.get("content"), provenance.get("content_sha256"), image, "content"
    )


# --------------------------------------------------------------------------- re-rendering


def _precision(provenance: dict[str, Any], device: Any, override: str | None, image: Path) -> Any:
    from artkit.device import resolve_precision

    recorded = str(provenance.get("precision") or "fp32").split("+")[0]
    if override:
        return resolve_precision(override, device)  # the user's option: a usage error
    try:
        return resolve_precision(recorded, device)
    except ArtkitError:
        # someone else's file: this image fails, the rest of the batch goes on
        raise ArtkitError(
            f"{image}: its provenance names an unknown precision {recorded[:40]!r}"
        ) from None


def _recorded_seed(provenance: dict[str, Any], image: Path) -> int:
    seed = provenance["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**63 - 1:
        raise ArtkitError(f"{image}: its provenance has a bad seed {str(seed)[:40]!r}")
    return seed


def _recorded_scale(provenance: dict[str, Any], image: Path) -> float:
    value = provenance.get("truncation", provenance.get("temperature", 1.0))
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ArtkitError(f"{image}: its provenance has a bad truncation {str(value)[:40]!r}")
    return float(value)


def _rerender_sample(
    provenance: dict[str, Any], image: Path, finder: CheckpointFinder, device, precision: str | None
) -> tuple[Any, str | None]:
    from artkit.torch_images import to_pil

    out, _, shown = _resample(provenance, image, finder, device, precision)
    return to_pil(out.float().cpu())[0], shown


def _resample(
    provenance: dict[str, Any], image: Path, finder: CheckpointFinder, device, precision: str | None
) -> tuple[Any, Any, str | None]:
    """(the model's output tensor for the recorded seed, the model, what was loaded)."""
    import torch

    from artkit.api.models import open_model
    from artkit.render.models import sample_one

    if "seed" not in provenance:
        raise ArtkitError(f"{image}: its provenance has no seed (a contact sheet or a walk?)")
    if provenance.get("model_spec"):
        # a registered model's spec, never a file path (those are found by sha256 only)
        source = trusted_spec(provenance["model_spec"], "models", image, finder.search)
        try:
            model, _ = open_model(source, device, spec_only=True)
        except UsageError as exc:
            raise ArtkitError(f"{image}: its provenance has a bad model_spec: {exc}") from None
        shown = source
    else:
        path = finder.find(provenance, image)
        model, _ = open_model(str(path), device)
        shown = str(path)
    model.eval()
    model.require("sample")
    prec = _precision(provenance, device, precision, image)
    seed = _recorded_seed(provenance, image)
    scale = _recorded_scale(provenance, image)
    options = provenance.get("options") or {}
    if not isinstance(options, dict):
        raise ArtkitError(f"{image}: its provenance has bad sampler options")
    with torch.inference_mode(), prec.autocast(device):
        from artkit.model import LatentSampler  # torch is loaded by now

        if not options and isinstance(model, LatentSampler):
            out = model.generate(model.latents_for_seeds([seed], scale))
        else:
            out = sample_one(model, seed, scale, options)
    return out, model, shown


def _reproduce_medium(
    found: Any, path: Path, prov: dict[str, Any], finder: CheckpointFinder, device, precision
) -> Comparison:
    """A non-image medium's file (MIDI, say): sampled again, saved beside a temp copy in the
    same medium, and compared through the medium (``compare``, else ``load_array``)."""
    import tempfile

    from artkit.media import compare, save, to_items

    command, task = prov.get("command"), prov.get("task", "sample")
    if command not in SAMPLE_COMMANDS or task != "sample":
        raise ArtkitError(f"{path}: made by {command!r}, which reproduce does not re-render")
    if prov.get("post"):
        raise ArtkitError(f"{path}: post-processed {found.name} files are not reproduced")
    out, model, ckpt = _resample(prov, path, finder, device, precision)
    [item] = to_items(found, out.float().cpu(), model=model)
    cfg = model.config
    geometry = (int(getattr(cfg, "channels", 1)), getattr(cfg, "resolution", None))
    with tempfile.TemporaryDirectory(prefix="artkit-reproduce-") as scratch:
        again = save(found, item, Path(scratch) / path.name, prov)
        units, most = compare(found, path, again, geometry)
    note = ""
    recorded_device = prov.get("device")
    if recorded_device and recorded_device != device.type:
        note = f"made on {recorded_device}, reproduced on {device.type}"
    # a medium's differences are its own units (notes, samples), not 0-255 pixels
    max_diff = 0 if units == 0 else max(1, min(255, math.ceil(most)))
    fraction = 0.0 if units == 0 else 1.0
    return Comparison(str(path), units == 0, max_diff, fraction, ckpt, note, found.name, units)


def _rerender_fast_style(
    provenance: dict[str, Any], image: Path, finder: CheckpointFinder, device, precision: str | None
) -> tuple[Any, str | None]:
    import torch

    from artkit.checkpoint import load_model
    from artkit.render.models import stylize_one

    path = finder.find(provenance, image)
    content = _find_content(provenance, image)
    model = load_model(path, device=str(device))
    model.require("stylize")
    prec = _precision(provenance, device, precision, image)
    model.prepare_for_inference(device, prec.name, compile=False)
    size = provenance.get("size")
    return stylize_one(model, str(content), int(size) if size else None, device, torch), str(path)


def _rerender_gatys(provenance: dict[str, Any], image: Path, device) -> tuple[Any, None]:
    from artkit.render.stylizers import stylizer

    GatysJobs = stylizer("gatys")
    OPTIONS = GatysJobs.OPTIONS

    if provenance.get("preserve_color"):
        raise ArtkitError(f"{image}: colour-preserving Gatys results are not reproduced")
    content = _find_content(provenance, image)
    styles = provenance.get("styles") or []
    shas = provenance.get("styles_sha256") or [None] * len(styles)
    paths = [_find_input(s, h, image, "style") for s, h in zip(styles, shas, strict=False)]
    missing = [k for k in OPTIONS if k not in provenance]
    if missing or not paths:
        raise ArtkitError(f"{image}: its provenance lacks Gatys settings ({', '.join(missing)})")
    options = {k: provenance[k] for k in OPTIONS}
    weights = [float(w) for w in provenance.get("style_weights") or [1.0] * len(paths)]
    return GatysJobs(device).run(content, paths, weights, options), None


def _encode_like(picture: Any, original: Path, provenance: dict[str, Any]) -> Any:
    """``picture`` after the same lossy encoding as ``original`` (PNG: unchanged)."""
    from PIL import Image

    from artkit.images import format_for_path

    fmt = format_for_path(original)
    if fmt == "png":
        return picture
    buffer = io.BytesIO()
    quality = int(provenance.get("quality", 95))
    pil_fmt = {"jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}.get(fmt, fmt.upper())
    im = picture.convert("RGB") if pil_fmt == "JPEG" else picture
    im.save(buffer, format=pil_fmt, quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.copy()


def compare_pixels(a: Any, b: Any) -> tuple[int, float]:
    """(largest channel difference, share of pixels that differ) of two PIL images."""
    import numpy as np

    if a.size != b.size:
        return 255, 1.0
    mode = "RGBA" if "A" in a.getbands() or "A" in b.getbands() else "RGB"
    x = np.asarray(a.convert(mode), dtype=np.int16)
    y = np.asarray(b.convert(mode), dtype=np.int16)
    diff = np.abs(x - y)
    return int(diff.max()), float((diff.max(axis=-1) > 0).mean())


def reproduce(
    image: str | os.PathLike[str],
    finder: CheckpointFinder,
    *,
    device: Any,
    precision: str | None = None,
) -> Comparison:
    """Re-render ``image`` from its provenance and compare it with the file."""
    from artkit.api.post import build_chain, run_chain
    from artkit.images import load_image, read_provenance
    from artkit.media import is_image, medium_for_path

    path = Path(image)
    found = medium_for_path(path)
    if found is not None and not is_image(found):
        prov = found.read_provenance(path)
        if not prov:
            raise ArtkitError(f"{path}: carries no artkit provenance; nothing to reproduce")
        return _reproduce_medium(found, path, prov, finder, device, precision)
    prov = read_provenance(path)
    if not prov:
        raise ArtkitError(f"{path}: carries no artkit provenance; nothing to reproduce")
    command = prov.get("command")
    task = prov.get("task", "sample")
    method = prov.get("method")
    stylised = command == "stylize" or (command == "render" and task == "stylize")
    if command in SAMPLE_COMMANDS and task == "sample":
        picture, ckpt = _rerender_sample(prov, path, finder, device, precision)
    elif stylised and method == "fast":
        picture, ckpt = _rerender_fast_style(prov, path, finder, device, precision)
    elif stylised and method == "gatys":
        picture, ckpt = _rerender_gatys(prov, path, device)
    else:
        raise ArtkitError(f"{path}: made by {command!r}, which reproduce does not re-render")
    steps = prov.get("post") or []
    if not isinstance(steps, list) or len(steps) > 100:
        raise ArtkitError(f"{path}: its provenance has a bad post chain")
    if steps:
        safe = [trusted_spec(step, "postprocessors", path, finder.search) for step in steps]
        try:
            chain = build_chain(safe)
        except UsageError as exc:  # someone else's file: this image fails, not the batch
            raise ArtkitError(f"{path}: its provenance has a bad post step: {exc}") from None
        picture = run_chain(picture, chain, str(path))
    picture = _encode_like(picture, path, prov)
    original = load_image(path)
    max_diff, fraction = compare_pixels(original, picture)
    note = ""
    recorded_device = prov.get("device")
    if recorded_device and recorded_device != device.type:
        note = f"made on {recorded_device}, reproduced on {device.type}"
    return Comparison(str(path), max_diff == 0, max_diff, fraction, ckpt, note)
