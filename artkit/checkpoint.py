"""Checkpoints: safetensors files with artkit metadata, written atomically.

Weights (``weights.safetensors``) hold every tensor of a model's networks under
the network's name (``G.net.0.weight``) and string metadata:

=====================  ===========================================================
``format``             ``pt``
``artkit.version``     artkit version that wrote the file
``artkit.model``       registry name of the model (``dcgan``)
``artkit.config``      the model's config dataclass as JSON
``artkit.step``        training step
``artkit.plugin``      plugin that provides the model, and ``artkit.plugin_version``
``artkit.dataset``     fingerprint of the training data (when known)
``artkit.schema``      the file's layout version (:mod:`artkit.schema`; none = 1)
=====================  ===========================================================

Training state for exact resume is a second safetensors file written with
:func:`save_tensors`. Pickled ``.pt``/``.pth`` files are refused: we never
unpickle (the only exception is an explicit import command, loading with
``weights_only=True``).

:func:`read_header` parses the header by hand -- no torch, no safetensors -- so
``artkit info`` stays instant; everything that touches tensors imports torch
inside the function.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artkit import __version__
from artkit.atomic import atomic_write_bytes
from artkit.errors import CheckpointError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from artkit.model import ArtModel

_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
#: The weights file inside a run folder: the one place that says so.
WEIGHTS_NAME = "weights.safetensors"
#: metadata key of a class-conditioned model's class names (a JSON list, one per class)
CLASS_NAMES_KEY = "artkit.class_names"
#: the longest class name a checkpoint may hold
MAX_CLASS_NAME = 200


def weights_file(path: str | os.PathLike[str]) -> Path:
    """A run folder -> its ``weights.safetensors``; any other path is returned as a Path."""
    path = Path(path)
    return path / WEIGHTS_NAME if path.is_dir() else path


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    """A safetensors file's header: metadata and tensor index, read without torch."""

    path: Path
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]
    file_size: int

    @property
    def model(self) -> str | None:
        return self.metadata.get("artkit.model")

    @property
    def config(self) -> dict[str, Any]:
        raw = self.metadata.get("artkit.config")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise CheckpointError(
                f"{self.path}: artkit.config metadata is not valid JSON"
            ) from None
        if not isinstance(value, dict):
            raise CheckpointError(f"{self.path}: artkit.config metadata is not a JSON object")
        return value

    @property
    def step(self) -> int | None:
        raw = self.metadata.get("artkit.step")
        # isascii: "²".isdigit() is True but int("²") fails; other people's files say anything
        return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 20 else None

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors.values())


def _refuse_if_pickle(path: Path, head: bytes) -> None:
    """Refuse torch.save files: a zip archive (PK\x03\x04, torch >= 1.6) or a raw pickle.

    Called only when the first bytes do not look like a safetensors header, because
    a header length's low byte can legitimately be 0x80, pickle's first opcode.
    """
    pickle_start = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    if (
        head.startswith(b"PK\x03\x04")
        or pickle_start
        or path.suffix in (".pt", ".pth", ".ckpt", ".pkl")
    ):
        raise CheckpointError(
            f"{path}: refusing to load a pickled PyTorch file; pickles can run code. "
            "Convert it once with `artkit weights import NAME FILE` (uses weights_only=True)"
        )


def _looks_like_safetensors(head: bytes, first_header_byte: bytes, size: int) -> bool:
    if len(head) < 8:
        return False
    (n,) = struct.unpack("<Q", head)
    return 0 < n <= _MAX_HEADER and 8 + n <= size and first_header_byte == b"{"


def read_header(path: str | os.PathLike) -> Header:
    """Parse and validate a safetensors header without reading tensor data."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a .safetensors file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if not _looks_like_safetensors(head, f.read(1), size):
            _refuse_if_pickle(path, head)
        f.seek(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a safetensors file (only {size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > _MAX_HEADER:
            raise CheckpointError(f"{path}: not a safetensors file (bad header length)")
        if 8 + n > size:
            raise CheckpointError(f"{path}: truncated safetensors file (header cut off)")
        raw = f.read(n)
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(f"{path}: not a safetensors file (header is not JSON)") from None
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (__metadata__ is not an object)")
    data_size = size - 8 - n
    tensors: dict[str, TensorInfo] = {}
    try:
        for name, spec in header.items():
            start, end = (int(x) for x in spec["data_offsets"])
            info = TensorInfo(spec["dtype"], tuple(int(d) for d in spec["shape"]), start, end)
            if not 0 <= start <= end or any(d < 0 for d in info.shape):
                raise ValueError
            if end > data_size:
                raise CheckpointError(
                    f"{path}: truncated safetensors file (tensor {name!r} ends at byte {end}, "
                    f"only {data_size} data bytes present)"
                )
            width = _DTYPE_BYTES.get(info.dtype)
            if width is not None and end - start != info.numel * width:
                raise CheckpointError(
                    f"{path}: corrupt safetensors file (tensor {name!r} has the wrong size)"
                )
            tensors[name] = info
    except (KeyError, TypeError, ValueError, OverflowError):
        raise CheckpointError(f"{path}: corrupt safetensors header") from None
    return Header(path, {str(k): str(v) for k, v in metadata.items()}, tensors, size)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- tensors ------------------------------------------------------------------
def save_tensors(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, str] | None = None,
) -> Path:
    """Atomically write ``tensors`` (moved to CPU, made contiguous) with string metadata."""
    from safetensors.torch import save

    prepared = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        t = tensor.detach().to("cpu").contiguous()
        # safetensors refuses tensors that share storage (tied weights, views)
        if (
            t.untyped_storage().data_ptr() in seen
            or t.storage_offset()
            or t.numel() != t.untyped_storage().nbytes() // max(t.element_size(), 1)
        ):
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        prepared[name] = t
    meta = {"format": "pt", **{k: str(v) for k, v in (metadata or {}).items()}}
    return atomic_write_bytes(path, save(prepared, metadata=meta))


def load_tensors(
    path: str | os.PathLike, *, device: str = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Validate the header, then load every tensor; returns (tensors, metadata)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from artkit.schema import check_readable

    header = read_header(path)
    check_readable(header.metadata, path)
    try:
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot load tensors: {exc}") from None
    return tensors, header.metadata


# -- models -------------------------------------------------------------------
def model_metadata(
    model: ArtModel,
    *,
    step: int = 0,
    dataset: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    from artkit.plugins import get_host
    from artkit.schema import SCHEMA, SCHEMA_KEY

    meta = {
        SCHEMA_KEY: str(SCHEMA),
        "artkit.version": __version__,
        "artkit.model": model.registry_name,
        "artkit.config": json.dumps(model.config_dict(), sort_keys=True),
        "artkit.step": str(int(step)),
    }
    host = get_host()
    models = host.registry("models")
    if model.registry_name in models:
        plugin = models.get(model.registry_name).plugin
        meta["artkit.plugin"] = plugin
        version = host.infos.get(plugin).version if plugin in host.infos else None
        if version:
            meta["artkit.plugin_version"] = version
    if dataset:
        meta["artkit.dataset"] = dataset
    names = getattr(model, "class_names", ())
    if names:  # a class-conditioned model trained on named classes: label="A" works later
        meta[CLASS_NAMES_KEY] = json.dumps(list(names))
    for key, value in (extra or {}).items():
        meta[key if key.startswith("artkit.") else f"artkit.{key}"] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    return meta


def save_model(
    model: ArtModel,
    path: str | os.PathLike,
    *,
    step: int = 0,
    dataset: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save every network of ``model`` with artkit metadata; refuses NaN/Inf weights."""
    import torch

    tensors = model.state_dict()
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"refusing to save {path}: tensor {name!r} contains NaN or Inf")
    return save_tensors(
        path, tensors, model_metadata(model, step=step, dataset=dataset, extra=extra)
    )


def build_model(name: str, config: dict[str, Any] | None = None) -> ArtModel:
    """Build a fresh model from the registry by name and config options."""
    from artkit.plugins import get_registry

    registry = get_registry("models")
    entry = registry.get(name)
    model = entry.create(config or {})
    # A name two plugins register is recorded qualified (gan.dcgan), so the checkpoint
    # loads the same model whatever ARTKIT_PREFER says later.
    contested = any(e.name == entry.name for e, _ in registry.shadowed())
    model.registry_name = entry.qualified if contested else name
    return model


def load_model(path: str | os.PathLike, *, device: str = "cpu") -> ArtModel:
    """Rebuild a model from its weights file: registry name + config, then tensors.

    An older schema loads through :mod:`artkit.schema`'s migration, with one
    :class:`~artkit.schema.CheckpointMigrationWarning`; a newer one is an error.
    """
    import warnings

    from artkit.schema import SCHEMA, migrate_metadata, migration_message

    header = read_header(path)
    if not header.model:
        raise CheckpointError(f"{path}: not an artkit model file (no artkit.model metadata)")
    _, found = migrate_metadata(header.metadata, path)
    try:
        model = build_model(header.model, header.config)
    except CheckpointError:
        raise
    except Exception as exc:
        from artkit.errors import ArtkitError, UnknownNameError

        if isinstance(exc, UnknownNameError):
            raise CheckpointError(
                f"{path}: model {header.model!r} is not available ({exc}); is its plugin installed? see `artkit plugins`"
            ) from None
        if isinstance(exc, ArtkitError):
            raise CheckpointError(f"{path}: cannot rebuild model {header.model!r}: {exc}") from None
        raise
    tensors, _ = load_tensors(path)
    load_state_checked(model, tensors, source=str(path))
    if CLASS_NAMES_KEY in header.metadata:
        model.class_names = read_class_names(header.metadata[CLASS_NAMES_KEY], model, path)
    model.eval()
    if found < SCHEMA:  # said once it has loaded: a file that fails gets its error alone
        from artkit.schema import CheckpointMigrationWarning

        warnings.warn(migration_message(path, found), CheckpointMigrationWarning, stacklevel=2)
    return model.to(device)


def class_names_fit(names: Any, classes: int) -> bool:
    """Whether ``names`` can be a model's ``class_names``: one per class, all different, each
    a string of 1 to :data:`MAX_CLASS_NAME` characters (what a checkpoint may hold)."""
    return (
        isinstance(names, list | tuple)
        and len(names) == classes
        and all(isinstance(n, str) and 0 < len(n) <= MAX_CLASS_NAME for n in names)
        and len(set(names)) == len(names)
    )


def read_class_names(text: str, model: ArtModel, path: str | os.PathLike) -> tuple[str, ...]:
    """The ``artkit.class_names`` entry, checked with :func:`class_names_fit`."""
    classes = int(getattr(model, "num_classes", 0))
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not class_names_fit(names, classes):
        raise CheckpointError(
            f"{path}: {CLASS_NAMES_KEY} is not a list of {classes} different names of 1 to "
            f"{MAX_CLASS_NAME} characters"
        )
    return tuple(names)


def load_state_checked(model: ArtModel, tensors: dict[str, torch.Tensor], *, source: str) -> None:
    """``load_state_dict`` with a one-line error naming the first mismatching keys."""
    expected = model.state_dict()
    optional = tuple(getattr(model, "optional_state", ()))
    if optional:  # written before those buffers existed: keep the model's own values
        tensors = {
            **{k: v for k, v in expected.items() if k.startswith(optional) and k not in tensors},
            **tensors,
        }
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [
        f"{k} {tuple(tensors[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)
    ]
    problems = []
    if wrong:
        problems.append(
            f"shape mismatch in {len(wrong)} tensors (file vs model), first: {', '.join(wrong[:3])}"
        )
    if missing:
        problems.append(f"{len(missing)} missing, first: {', '.join(missing[:3])}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected, first: {', '.join(unexpected[:3])}")
    if problems:
        raise CheckpointError(
            f"{source}: tensors don't fit model {model.registry_name!r}: {'; '.join(problems)}"
        )
    model.load_state_dict(tensors, strict=True)


def upgrade_checkpoint(source: str | os.PathLike, target: str | os.PathLike) -> tuple[Path, int]:
    """Write ``source`` (any schema this artkit reads) to ``target`` in the current schema.

    The tensors are the same numbers; the config lists every option and the file holds
    every tensor the model has. ``target`` must not exist (never in place: images name
    the old file's sha256). Returns ``(target, the schema source had)``.
    """
    import warnings

    from artkit.schema import CheckpointMigrationWarning, migrate_metadata

    source, target = Path(source), Path(target)
    header = read_header(source)
    metadata, found = migrate_metadata(header.metadata, source)
    if target.exists() or target.is_symlink():
        raise CheckpointError(f"{target}: already exists; give another --out (nothing written)")
    if target.resolve() == source.resolve():
        raise CheckpointError(f"{target}: is the source; an upgrade writes a new file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointMigrationWarning)
        model = load_model(source)
    kept = {  # what the writer recorded beyond the model itself
        k: v
        for k, v in metadata.items()
        if k.startswith("artkit.")
        and k not in ("artkit.model", "artkit.config", "artkit.step", "artkit.dataset")
        and k not in model_metadata(model)
    }
    kept["artkit.upgraded_from"] = json.dumps(
        {
            "schema": found,
            "artkit_version": header.metadata.get("artkit.version", "")[:40],
            "sha256": sha256_file(source),
        },
        sort_keys=True,
    )
    save_model(
        model,
        target,
        step=header.step or 0,
        dataset=header.metadata.get("artkit.dataset"),
        extra=kept,
    )
    return target, found
