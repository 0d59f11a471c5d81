"""``check_model``: build, exercise, round-trip through a checkpoint, and train a registered model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from artkit.checks.common import (
    _bad_values,
    _entry,
    _expect_one_line_error,
    _fail,
    _finite,
    _hinted,
)


def check_model(
    name: str, *, train_steps: int = 2, tmp_dir: str | Path | None = None, **config: Any
) -> None:
    """Check the model contract for registry entry ``name`` (with ``config`` or its ``test_config``).

    - an unknown option, a word for a number and an unknown choice are each refused
      with a one-line UsageError that names the option;
    - the factory returns an :class:`artkit.model.ArtModel` with its declared networks;
    - ``sample`` gives (N, C, H, W) finite images in [-1, 1], the same for the same seed
      and different for different seeds; ``latents_for_seeds`` + ``generate`` (what
      ``artkit sample`` and ``interpolate`` call) give each seed the same image whatever
      batch it is drawn in; ``translate`` / ``stylize`` / ``encode`` + ``decode`` give
      finite images of the right batch size;
    - a model whose ``output_kind`` is not "image" has its medium registered, and its
      samples go through it: items, a saved file whose provenance reads back, and the
      medium's optional ``join`` / ``preview`` / ``compare`` / ``load_array``;
    - a safetensors checkpoint round trip rebuilds a model with the same config and
      identical outputs;
    - a trainable model trains ``train_steps`` real steps with ``artkit train`` on a
      tiny dataset (forward and backward), logs finite losses, writes finite weights
      that load, and one more step (an exact resume) changes the weights.
    """
    import torch

    from artkit.checkpoint import build_model, load_model, read_header, save_model
    from artkit.model import ArtModel

    entry = _entry("models", name)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(tmp_dir or scratch)
        cfg = _hinted(entry, "test_config", root, config)

        _expect_one_line_error(
            "model", name, lambda: build_model(name, {**cfg, "no_such_option_xyz": 1}),
            "an unknown option", "no_such_option_xyz",
        )  # fmt: skip
        for key, value in _bad_values(entry.params, set(cfg)):
            _expect_one_line_error(
                "model", name, lambda k=key, v=value: build_model(name, {**cfg, k: v}),
                f"{key}={value!r}", key,
            )  # fmt: skip

        torch.manual_seed(0)
        model = build_model(name, cfg)
        if not isinstance(model, ArtModel):
            raise _fail("model", name, f"the factory returned {type(model).__name__}, not ArtModel")
        for net in model.network_names:
            if not isinstance(getattr(model, net, None), torch.nn.Module):
                raise _fail("model", name, f"network {net!r} is declared but missing")
        model.eval()
        outputs = _exercise(model, name)
        if "sample" in outputs:
            _check_medium(model, name, outputs["sample"], root)

        path = save_model(model, root / "conformance.safetensors")
        if read_header(path).model != name:
            raise _fail("model", name, "a saved checkpoint does not record the model's name")
        again = load_model(path).eval()
        if again.config_dict() != model.config_dict():
            raise _fail("model", name, "the config changed in a checkpoint round trip")
        for key, value in _exercise(again, name).items():
            if not torch.equal(value, outputs[key]):
                raise _fail("model", name, f"{key} differs after a checkpoint round trip")

        from artkit.model import Trainable

        if train_steps and isinstance(model, Trainable):
            _train(name, cfg, entry, root, train_steps)


def _exercise(model: Any, name: str) -> dict[str, Any]:
    import torch

    from artkit.device import make_generator

    out: dict[str, Any] = {}
    caps = model.capabilities()
    with torch.no_grad():
        if "sample" in caps:
            a = model.sample(2, make_generator(1))
            b = model.sample(2, make_generator(1))
            c = model.sample(2, make_generator(2))
            _check_images(a, name, "sample(2)", n=2)
            if not torch.equal(a, b):
                raise _fail("model", name, "sample is not deterministic for one seed")
            if torch.equal(a, c):
                raise _fail("model", name, "different seeds gave the same samples")
            out["sample"] = a
            out["generate"] = _check_seed_batches(model, name)
        for cap in ("translate", "stylize"):
            if cap in caps:
                channels = int(getattr(model.config, "in_channels", 3) or 3)
                from artkit.config_checks import image_size

                h, w = image_size(getattr(model.config, "resolution", 32) or 32)
                g = torch.Generator().manual_seed(3)
                x = torch.rand(2, channels, h, w, generator=g) * 2 - 1
                y = getattr(model, cap)(x)
                _check_images(y, name, f"{cap}(x)", n=2)
                out[cap] = y
        if "encode" in caps and "decode" in caps and "sample" in caps:
            z = model.encode(out["sample"])
            z = z[0] if isinstance(z, tuple) else z
            y = model.decode(z)
            _check_images(y, name, "decode(encode(x))", n=2)
            out["decode"] = y
    return out


def _check_medium(model: Any, name: str, samples: Any, root: Path) -> None:
    """A model whose ``output_kind`` is not "image": its samples must go through its medium.

    ``to_items`` gives one item per sample, ``save`` writes a file that
    ``read_provenance`` reads the provenance back from (and that ``medium_for_path``
    finds by its suffix); ``join``, ``preview``, ``compare`` and ``load_array`` work
    where the medium has them (a file compares identical to itself).
    """
    from artkit.errors import ArtkitError
    from artkit.media import is_image, medium_for_path, medium_of, save, to_items

    if (model.output_kind or "image") == "image":
        return
    try:
        found = medium_of(model)
    except ArtkitError as exc:
        raise _fail("model", name, str(exc)) from None
    if is_image(found):
        return
    what = f"its medium {found.name!r}"
    items = to_items(found, samples.float().cpu(), model=model)
    if len(items) != len(samples):
        raise _fail("model", name, f"{what} made {len(items)} items of {len(samples)} samples")
    provenance = {"artkit": "conformance", "model": name, "seed": 1}
    folder = root / "medium"
    folder.mkdir(parents=True, exist_ok=True)
    path = save(found, items[0], folder / f"000001{found.suffixes[0]}", provenance)
    if not path.is_file():
        raise _fail("model", name, f"{what} did not write {path.name}")
    if medium_for_path(path) is not found:
        raise _fail("model", name, f"{what} wrote {path.name}, a suffix it does not list")
    back = found.read_provenance(path)
    if not isinstance(back, dict) or back.get("seed") != 1 or back.get("model") != name:
        raise _fail("model", name, f"{what} did not read back the provenance it saved")
    if callable(getattr(found, "join", None)):
        joined = found.join(items)
        save(found, joined, folder / f"joined{found.suffixes[0]}", provenance)
    if callable(getattr(found, "preview", None)):
        picture = found.preview(path)
        if not hasattr(picture, "size") or min(picture.size) < 1:
            raise _fail("model", name, f"{what}'s preview is not a picture")
    cfg = model.config
    geometry = (int(getattr(cfg, "channels", 1)), getattr(cfg, "resolution", None))
    has_compare = callable(getattr(found, "compare", None))
    if has_compare or callable(getattr(found, "load_array", None)):
        from artkit.media import compare

        units, _ = compare(found, path, path, geometry)
        if units:
            raise _fail("model", name, f"{what} says a file differs from itself")


def _check_seed_batches(model: Any, name: str) -> Any:
    """``artkit sample --seeds 5`` must draw the image that ``-n 8`` drew for seed 5."""
    import torch

    for method in ("latents_for_seeds", "generate"):
        if not callable(getattr(model, method, None)):
            raise _fail(
                "model", name,
                f"it can sample but has no {method}(); artkit sample and interpolate call "
                "latents_for_seeds(seeds, truncation) and generate(z)",
            )  # fmt: skip
    both = model.generate(model.latents_for_seeds([4, 5], 1.0))
    alone = model.generate(model.latents_for_seeds([5], 1.0))
    _check_images(both, name, "generate(latents_for_seeds([4, 5]))", n=2)
    if not torch.allclose(both[1:], alone, atol=1e-4):
        raise _fail(
            "model", name,
            "seed 5 gave a different image alone than in a batch with seed 4; "
            "latents_for_seeds must draw each seed's latent on its own generator",
        )  # fmt: skip
    return both


def _check_images(x: Any, name: str, what: str, n: int) -> None:
    import torch

    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != n:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise _fail("model", name, f"{what} must give ({n}, C, H, W) images, got {shape}")
    if not torch.isfinite(x).all():
        raise _fail("model", name, f"{what} gave non-finite values")
    if x.min() < -1.0001 or x.max() > 1.0001:
        raise _fail("model", name, f"{what} must be in [-1, 1], got [{x.min():.3f}, {x.max():.3f}]")


def _train(name: str, cfg: dict[str, Any], entry: Any, root: Path, steps: int) -> None:
    import json

    import torch

    from artkit.api.models import weights_file
    from artkit.api.post import format_spec
    from artkit.api.train import run_training
    from artkit.checkpoint import load_model, load_tensors
    from artkit.errors import ArtkitError

    spec = format_spec(name, cfg)
    data = entry.extra.get("test_data", "shapes:count=8")
    run = root / "run"
    common = {"device": "cpu", "precision": "fp32", "seed": 0, "quiet": True}

    def train(what: str, *args: Any, **kwargs: Any) -> None:
        # the function `artkit train` runs, called directly (no CLI)
        try:
            trained = run_training(*args, **kwargs, **common)
        except ArtkitError as exc:
            raise _fail("model", name, f"{what} failed: {exc}") from None
        if trained.exit_code:
            raise _fail("model", name, f"{what} stopped early: {trained.reason}")

    train(
        "artkit train",
        spec,
        data,
        {"steps": steps, "batch_size": 4, "sample_every": 0, "log_every": 1},
        out=run,
    )
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    losses = {k: v for row in rows for k, v in row.items() if "loss" in k}
    if not rows or not losses:
        raise _fail("model", name, "training logged no losses (name them *loss*)")
    bad = {k: v for k, v in losses.items() if not isinstance(v, int | float) or not _finite(v)}
    if bad:
        raise _fail("model", name, f"training logged non-finite losses: {bad}")
    load_model(weights_file(run))
    before, _ = load_tensors(weights_file(run))

    train(
        "resuming training for one more step",
        None,
        None,
        {"steps": steps + 1, "log_every": 1},
        resume=run,
    )
    after, _ = load_tensors(weights_file(run))
    broken = [k for k, t in after.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        raise _fail("model", name, f"training wrote non-finite weights: {', '.join(broken[:3])}")
    if all(torch.equal(after[k], before[k]) for k in before):
        raise _fail(
            "model", name, "a training step changed no weights (no gradients reach the networks?)"
        )
