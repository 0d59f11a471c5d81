"""The model axis of a series: identify, load and sample the models a render uses.

A value of the model axis is a checkpoint, a run folder or a model spec
(:func:`artkit.api.models.describe_model` says which without loading weights);
:class:`Models` loads each once. :func:`sample_one` and :func:`stylize_one` render one
image the way both a series and ``artkit reproduce`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artkit.errors import UsageError
from artkit.render.spec import MODEL_KEYS

#: Sampler options with a meaning of their own; any other axis goes to ``model.sample``.
LATENT_OPTIONS = ("truncation", "temperature")


@dataclass
class ModelSource:
    """One value of the model axis: what it is and what provenance says about it."""

    value: str
    provenance: dict[str, Any]  # checkpoint + sha256, or model_spec + model_seed
    path: Path | None


def describe_source(value: str) -> ModelSource:
    """Identify a checkpoint (by sha256) without loading it; model specs are named as given."""
    from artkit.api.models import describe_model

    path, provenance = describe_model(value)
    return ModelSource(value, provenance, path)


class Models:
    """Loads each model once, keeps the most recent one (series are ordered model-outermost)."""

    def __init__(self, device: Any):
        self.device = device
        self.sources: dict[str, ModelSource] = {}
        self._loaded: tuple[str, Any] | None = None

    def source(self, value: str) -> ModelSource:
        if value not in self.sources:
            self.sources[value] = describe_source(value)
        return self.sources[value]

    def get(self, value: str) -> Any:
        if self._loaded is not None and self._loaded[0] == value:
            return self._loaded[1]
        from artkit.api.models import open_model

        self._loaded = None  # free the previous model before loading the next
        model, _ = open_model(str(self.source(value).path or value), self.device)
        model.eval()
        self._loaded = (value, model)
        return model


def model_value(params: dict[str, Any]) -> str:
    return next(str(params[k]) for k in MODEL_KEYS if k in params)


def sampler_options(params: dict[str, Any]) -> dict[str, Any]:
    """Axis values that go to the model's sampler (everything but model, seed, content)."""
    skip = {*MODEL_KEYS, "seed", "content", "size", *LATENT_OPTIONS}
    return {k: v for k, v in params.items() if k not in skip}


def check_sampler_options(model: Any, options: list[str]) -> None:
    """Axes the model's sampler does not take are a one-line error before anything is written."""
    import inspect

    model.require("sample")
    if not options:
        return
    accepted = set()
    for method in ("sample", "latents_for_seeds"):
        fn = getattr(model, method, None)
        if fn is None:
            continue
        sig = inspect.signature(fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        accepted |= {p for p in sig.parameters if p not in ("n", "generator", "seeds", "self")}
    for name in options:
        if name not in accepted:
            takes = ", ".join(sorted(accepted - set(LATENT_OPTIONS))) or "no other options"
            raise UsageError(
                f"sweep.{name}: model {model.registry_name!r} has no sampler option {name!r} "
                f"(it takes: truncation, {takes})"
            )


def sample_one(model: Any, seed: int, scale: float, options: dict[str, Any]) -> Any:
    """One image through the model's own sampler, from its own seeded generator."""
    from artkit.device import make_generator

    kwargs = dict(options)
    if scale != 1.0 or "truncation" in _params_of(model.sample):
        kwargs["truncation"] = scale
    return model.sample(1, make_generator(seed), **kwargs)


def _params_of(fn: Callable[..., Any]) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


def stylize_one(model: Any, content: str, size: int | None, device: Any, torch: Any) -> Any:
    """One content image through a fast-style model, RGB, longest side ``size``."""
    from artkit.api.images import resize_longest, restore_alpha
    from artkit.images import load_image
    from artkit.torch_images import pil_to_tensor, to_pil

    original = load_image(content)
    image = resize_longest(original, size)
    batch = pil_to_tensor([image.convert("RGB")], 3)
    with torch.inference_mode():
        styled = model.stylize(batch.to(device))
    return restore_alpha(to_pil(styled.float().cpu())[0], image)
