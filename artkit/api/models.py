"""Opening a model: a checkpoint file, a run folder, or a model spec (``cppn:scale=2``).

A run folder's weights are always ``RUN/weights.safetensors``
(:func:`artkit.checkpoint.weights_file` is the one place that says so). A model spec that needs no training builds its
untrained weights from :data:`MODEL_SPEC_SEED`, so it samples the same pixels every
time; provenance records the spec and that seed instead of a checkpoint hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# the run-folder rule lives with the checkpoint format; re-exported for the API
from artkit.checkpoint import weights_file
from artkit.errors import UsageError

__all__ = ["MODEL_SPEC_SEED", "describe_model", "not_found", "open_model", "weights_file"]

#: The seed an untrained model spec's weights are built from.
MODEL_SPEC_SEED = 0


def not_found(spec: str) -> UsageError:
    """The one-line error for a spec that is neither a checkpoint, a run nor a model."""
    return UsageError(f"{spec}: no such checkpoint file or run folder (and no model of that name)")


def describe_model(spec: str) -> tuple[Path | None, dict[str, Any]]:
    """Identify ``spec`` without loading weights: ``(weights path or None, provenance)``.

    The provenance names the model and its config and either the checkpoint
    (file name and sha256) or the model spec and :data:`MODEL_SPEC_SEED`.
    """
    from artkit.checkpoint import read_header, sha256_file
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    path = weights_file(spec)
    if path.is_file():
        header = read_header(path)
        return path, {
            "model": header.model,
            "config": header.config,
            "checkpoint": path.name,
            "checkpoint_sha256": sha256_file(path),
        }
    name, _ = parse_spec(spec)
    if name in get_registry("models"):
        return None, {"model": name, "model_spec": spec, "model_seed": MODEL_SPEC_SEED}
    raise not_found(spec)


def open_model(spec: str, device: Any, *, spec_only: bool = False) -> tuple[Any, dict[str, Any]]:
    """A checkpoint path, run folder or model spec -> ``(model on device, its provenance)``.

    ``spec_only``: ``spec`` must be a registered model's spec, never a file (for specs
    read from someone else's image, which may not name a checkpoint unchecked).
    """
    from artkit.checkpoint import build_model, load_model, sha256_file
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    path = weights_file(spec)
    if not spec_only and path.is_file():
        model = load_model(path, device=str(device))
        return model, {"checkpoint": path.name, "checkpoint_sha256": sha256_file(path)}
    name, options = parse_spec(spec)
    if name in get_registry("models"):
        import torch

        # An untrained model's weights are part of the picture: build them from a
        # fixed seed so a model spec samples the same pixels every time.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(MODEL_SPEC_SEED)
            model = build_model(name, options).to(device).eval()
        return model, {"checkpoint": None, "model_spec": spec, "model_seed": MODEL_SPEC_SEED}
    raise not_found(spec)
