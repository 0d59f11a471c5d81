"""Gatys style transfer as a series job: content image x style image x options.

Registered as the ``gatys`` stylizer (``register_stylizers``); ``artkit render`` and
``artkit reproduce`` find it through the registry, so the core never imports this
plugin. Used by series whose ``style`` axis lists style *images* (not fast-style networks),
and by ``artkit reproduce`` for their results and for ``artkit stylize``'s. The
provenance keys are the ones ``artkit stylize --method gatys`` writes, so both kinds
of image are re-rendered by the same code. Options not given take the values of
:data:`DEFAULTS` -- smaller than the command's (256 px, 100 steps) because a series
multiplies them by hundreds of images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artkit.errors import UsageError

#: The Gatys settings a series may set in ``[stylize]`` or sweep as axes, with their types.
OPTIONS: dict[str, type] = {
    "size": int,
    "steps": int,
    "extractor": str,
    "content_weight": float,
    "style_weight": float,
    "tv_weight": float,
    "init": str,
    "optimizer": str,
    "multiscale": bool,
    "style_scale": float,
    "seed": int,
}
DEFAULTS: dict[str, Any] = {
    "size": 256,
    "steps": 100,
    "extractor": "auto",
    "init": "content",
    "optimizer": "lbfgs",
    "multiscale": True,
    "style_scale": 1.0,
    "seed": 0,
}


def check_option(name: str, value: Any, key: str) -> Any:
    """One Gatys option checked against its type (ints are fine for floats)."""
    kind = OPTIONS.get(name)
    if kind is None:
        raise UsageError(f"{key}: not a Gatys option; use: {', '.join(OPTIONS)}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value


class GatysJobs:
    """Runs Gatys jobs on one device, building each extractor once.

    ``OPTIONS`` and ``check_option`` are what a series spec may set and how a value
    is checked; render reads them from the registered class.
    """

    OPTIONS = OPTIONS
    check_option = staticmethod(check_option)

    def __init__(self, device: Any, *, quiet: bool = True):
        self.device, self.quiet = device, quiet
        self._extractors: dict[str, Any] = {}

    def extractor(self, name: str) -> Any:
        if name not in self._extractors:
            from artkit_style.nn_extractors import get_extractor

            notice = (lambda m: None) if self.quiet else None
            kwargs = {"notice": notice} if notice else {}
            self._extractors[name] = get_extractor(name, device=self.device, **kwargs)
        return self._extractors[name]

    def resolve(self, options: dict[str, Any]) -> dict[str, Any]:
        """Every option spelled out, as provenance records it (extractor by its real name)."""
        from artkit_style.configs import (
            DEFAULT_CONTENT_WEIGHT,
            DEFAULT_TV_WEIGHT,
            default_style_weight,
        )

        merged = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        extractor = self.extractor(str(merged["extractor"]))
        merged["extractor"] = extractor.name
        merged.setdefault("content_weight", DEFAULT_CONTENT_WEIGHT)
        merged.setdefault("tv_weight", DEFAULT_TV_WEIGHT)
        if merged.get("style_weight") is None:
            merged["style_weight"] = default_style_weight(extractor)
        return merged

    def run(
        self, content: str | Path, styles: list[str | Path], weights: list[float], options: dict
    ) -> Any:
        """The stylised picture (PIL, RGB) for resolved ``options``."""
        from artkit.api.images import load_source_image
        from artkit.torch_images import pil_to_tensor, to_pil
        from artkit_style.torch_gatys import GatysOptions, gatys

        opts = GatysOptions(
            size=int(options["size"]),
            steps=int(options["steps"]),
            content_weight=float(options["content_weight"]),
            style_weight=float(options["style_weight"]),
            tv_weight=float(options["tv_weight"]),
            init=str(options["init"]),
            optimizer=str(options["optimizer"]),
            multiscale=bool(options["multiscale"]),
            style_scale=float(options["style_scale"]),
            seed=int(options["seed"]),
        )
        opts.validate()
        extractor = self.extractor(str(options["extractor"]))
        content_t = pil_to_tensor([load_source_image(str(content))], 3)
        style_ts = [pil_to_tensor([load_source_image(str(s))], 3) for s in styles]
        result = gatys(content_t, style_ts, weights, extractor, opts)
        return to_pil(result.float().cpu())[0]
