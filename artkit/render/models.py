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

    def __init__(self, device: Any, medium: str = "image"):
        self.device = device
        self.medium = medium  # what the series' template writes (artkit.media)
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
        kind = getattr(model, "output_kind", "image") or "image"
        if kind != self.medium:
            from artkit.errors import UsageError
            from artkit.media import medium

            suffixes = ", ".join(medium(kind).suffixes)
            what = "pictures" if kind == "image" else f"{kind} files"
            raise UsageError(
                f"model {value!r} writes {what}, and this series' template writes "
                f"{'pictures' if self.medium == 'image' else self.medium + ' files'}; "
                f"end the template with one of {suffixes}"
            )
        model.eval()
        self._loaded = (value, model)
        return model


def model_value(params: dict[str, Any]) -> str:
    return next(str(params[k]) for k in MODEL_KEYS if k in params)


def sampler_options(params: dict[str, Any]) -> dict[str, Any]:
    """Axis values that go to the model's sampler (everything but model, seed, content)."""
    skip = {*MODEL_KEYS, "seed", "content", "size", *LATENT_OPTIONS}
    return {k: v for k, v in params.items() if k not in skip}


def sampling_keywords(model: Any) -> tuple[dict[str, str], str]:
    """The sampling options a model declares: ``({name: "sample" or "generate"}, rest)``.

    The contract (:class:`artkit.model.LatentSampler`) has two places for them: extra
    parameters of ``sample(n, generator, ...)`` and keyword parameters of ``generate(z,
    ...)``; both are a series' sweep axes and ``Model.sample``'s keywords. ``rest`` is
    the method whose ``**kwargs`` takes any other name ("" when none does). ``sample``
    wins a name both declare.
    """
    import inspect

    found: dict[str, str] = {}
    rest = ""
    skip = {"self", "n", "generator", "z", "truncation"}
    for method in ("generate", "sample"):
        fn = getattr(model, method, None)
        if fn is None or (method == "generate" and not _latent(model)):
            continue
        for p in inspect.signature(fn).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                rest = method
            elif p.kind is not p.VAR_POSITIONAL and p.name not in skip:
                found[p.name] = method
    return found, rest


def _latent(model: Any) -> bool:
    from artkit.model import LatentSampler  # a model is built: torch is loaded

    return isinstance(model, LatentSampler)


def check_sampler_options(model: Any, options: list[str]) -> None:
    """Axes the model's sampler does not take are a one-line error before anything is written."""
    model.require("sample")
    if not options:
        return
    accepted, rest = sampling_keywords(model)
    for name in options:
        if name not in accepted and not rest:
            takes = ", ".join(sorted(set(accepted) - set(LATENT_OPTIONS))) or "no other options"
            raise UsageError(
                f"sweep.{name}: model {model.registry_name!r} has no sampler option {name!r} "
                f"(it takes: truncation, {takes})"
            )
    places = {accepted.get(name, rest) for name in options}
    if len(places) > 1:
        raise UsageError(
            f"sweep: model {model.registry_name!r} takes {', '.join(sorted(options))} "
            "partly in sample() and partly in generate(); sweep options of one of them"
        )


def check_series_models(spec: Any) -> None:
    """Every sampler axis against every model of a series, before anything is rendered.

    ``render --dry-run`` runs it too. It builds each model bare -- config from a
    checkpoint's header or the model spec, tensors on the meta device, no weights
    read -- so a sweep of fifty checkpoints costs fifty constructors. Imports torch
    only when the series sweeps options of the model's own.
    """
    if spec.task != "sample":
        return
    options = list(sampler_options(dict.fromkeys(spec.axis_names, 0)))
    if not options:
        return
    for value in dict.fromkeys(str(v) for v in spec.model_axis.values):
        check_sampler_options(bare_model(value), options)


def bare_model(value: str) -> Any:
    """The model a checkpoint, run folder or model spec names, built without its weights."""
    import torch

    from artkit.api.models import not_found, weights_file
    from artkit.checkpoint import build_model, read_header
    from artkit.errors import ArtkitError, CheckpointError
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    path = weights_file(value)
    if path.is_file():
        header = read_header(path)
        name, config = header.model, header.config
        if name not in get_registry("models"):
            why = "is not available" if name else "is not named (not an artkit model file?)"
            raise CheckpointError(f"{path}: model {name!r} {why}; see `artkit plugins`")
    else:
        name, config = parse_spec(value)
        if name not in get_registry("models"):
            raise not_found(value)
    with torch.random.fork_rng(devices=[]):
        try:
            with torch.device("meta"):
                return build_model(name, config)
        except ArtkitError:
            raise
        except Exception:  # a constructor that computes with its tensors: build it for real
            return build_model(name, config)


def sample_one(model: Any, seed: int, scale: float, options: dict[str, Any]) -> Any:
    """One image through the model's own sampler, from its own seeded generator.

    Options ``generate`` declares go there, with the seed's latent from
    ``latents_for_seeds`` (the latent ``artkit sample`` draws for it); the others go
    to ``sample``.
    """
    from artkit.device import make_generator

    accepted, rest = sampling_keywords(model) if options else ({}, "")
    if options and all(accepted.get(k, rest) == "generate" for k in options):
        return model.generate(model.latents_for_seeds([seed], scale), **options)
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
