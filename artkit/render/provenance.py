"""Each job's provenance, and its render key: what decides the pixels and the file.

A job whose file already exists with the same render key in its provenance is
skipped by the runner (:func:`existing_matches`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from artkit.render.models import Models, model_value, sampler_options
from artkit.render.plan import Job
from artkit.render.spec import SeriesSpec


def render_key(provenance: dict[str, Any]) -> str:
    """A hash of everything in ``provenance`` that decides the pixels and the file."""
    decisive = {k: v for k, v in provenance.items() if k not in ("render_key", "config")}
    text = json.dumps(decisive, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Provenance:
    """Builds each job's provenance from the spec, the model source and the job."""

    def __init__(self, spec: SeriesSpec, models: Models, precision: str, device_type: str):
        from artkit import __version__

        self.spec, self.models = spec, models
        self.base = {
            "artkit": __version__,
            "command": "render",
            "task": spec.task,
            "series": spec.series,
            "device": device_type,
            "precision": precision,
            "format": spec.format,
            **({"quality": spec.quality} if spec.format in ("webp", "jpg") else {}),
            **({"audio": True} if spec.audio else {}),
        }
        self.post_specs: list[str] = []
        self.gatys: Any = None  # GatysJobs, for Gatys series

    def for_job(self, job: Job, target: Path) -> dict[str, Any]:
        if self.spec.method == "gatys":
            return self._gatys_job(job, target)
        source = self.models.source(model_value(job.params))
        prov = {**self.base, **source.provenance, "index": job.index}
        if self.post_specs:
            prov["post"] = self.post_specs
        if source.path is not None:
            prov["checkpoint_path"] = os.path.relpath(source.path, target.parent)
        params = job.params
        if self.spec.task == "sample":
            prov["seed"] = params["seed"]
            scale = params.get("truncation", params.get("temperature", 1.0))
            prov["truncation"] = scale
            if "temperature" in params:
                prov["temperature"] = scale
            options = sampler_options(params)
            if options:
                prov["options"] = options
        else:
            prov["method"] = "fast"
            prov["content"] = os.path.relpath(params["content"], target.parent)
            prov["content_sha256"] = _sha_cached(params["content"])
            prov["size"] = params.get("size")
        prov["render_key"] = render_key({**prov, "checkpoint_path": None, "content": None})
        return prov

    def gatys_options(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job's Gatys options, every one spelled out (``[stylize]``, then its axes)."""
        assert self.gatys is not None
        given = {k: v for k, v in params.items() if k not in ("style", "content")}
        return self.gatys.resolve({**self.spec.stylize, **given})

    def _gatys_job(self, job: Job, target: Path) -> dict[str, Any]:
        # the keys `artkit stylize --method gatys` writes, so reproduce treats both alike
        params = job.params
        prov = {
            **{k: v for k, v in self.base.items() if k != "precision"},
            "method": "gatys",
            "index": job.index,
            "content": os.path.relpath(params["content"], target.parent),
            "content_sha256": _sha_cached(params["content"]),
            "styles": [os.path.relpath(params["style"], target.parent)],
            "styles_sha256": [_sha_cached(params["style"])],
            "style_weights": [1.0],
            "preserve_color": None,
            **self.gatys_options(params),
        }
        if self.post_specs:
            prov["post"] = self.post_specs
        prov["render_key"] = render_key({**prov, "content": None, "styles": None})
        return prov


_SHA_CACHE: dict[str, str] = {}


def _sha_cached(path: str) -> str:
    if path not in _SHA_CACHE:
        from artkit.checkpoint import sha256_file

        _SHA_CACHE[path] = sha256_file(path)
    return _SHA_CACHE[path]


def existing_matches(target: Path, key: str) -> bool | None:
    """True: the file is this job's; False: a different (stale) file; None: no file."""
    if not target.exists():
        return None
    from artkit.media import provenance_of_path

    try:
        prov = provenance_of_path(target)
    except Exception:  # unreadable or corrupt: render it again
        return False
    if not prov:
        # a picture artkit did not write (someone's photo where an output would go)
        from artkit.errors import UsageError

        raise UsageError(
            f"{target} exists and was not written by artkit; remove it, choose another out, "
            "or pass --force to replace it"
        )
    return prov.get("render_key") == key
