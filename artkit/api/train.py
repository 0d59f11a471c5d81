"""``artkit.train(...)``: train a registered model with the generic trainer.

:func:`run_training` is what ``artkit train`` and ``artkit demo`` run;
:func:`train` is the same with Python keyword arguments. The run folder holds
``config.json``, ``weights.safetensors``, ``state.safetensors`` (exact resume),
``metrics.jsonl`` and sample grids.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.errors import UsageError


@dataclass
class TrainedRun:
    """What a training run left: its folder, weights, why and where it stopped, last metrics."""

    path: Path
    weights: Path
    step: int
    reason: str  # "done", "time", "interrupted", "early-stop" (--patience)
    seconds: float
    images_per_second: float
    metrics: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0  # 130 / 143 when interrupted by SIGINT / SIGTERM
    is_main: bool = True  # False on the other ranks of a torchrun job


def next_free(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3`` ... whichever does not exist yet."""
    if not base.exists():
        return base
    i = 2
    while Path(f"{base}-{i}").exists():
        i += 1
    return Path(f"{base}-{i}")


#: what a run writes at the top of its folder (``metrics.jsonl`` is appended to)
RUN_FILES = ("config.json", "metrics.jsonl", "state.safetensors", "best.safetensors")
#: the largest config.json read to see whose it is
MAX_CONFIG_BYTES = 1 << 20


def _run_file_is_ours(path: Path) -> bool:
    """Did an artkit run write ``path`` (one of :data:`RUN_FILES`, or a sample grid)?"""
    try:
        if not path.is_file():
            return False
        if path.suffix == ".safetensors":
            from artkit.checkpoint import read_header

            return any(key.startswith("artkit.") for key in read_header(path).metadata)
        if path.suffix == ".png":
            from artkit.images import read_provenance

            return (read_provenance(path) or {}).get("command") == "train"
        if path.name == "metrics.jsonl":  # appended to: its first record says whose it is
            with open(path, "rb") as handle:
                first = handle.readline(MAX_CONFIG_BYTES)
            return not first or isinstance(json.loads(first).get("step"), int)
        return "artkit_version" in _config_json(path)
    except Exception:  # unreadable, or not what its name says
        return False


def _config_json(path: Path) -> Any:
    """``path`` read (at most :data:`MAX_CONFIG_BYTES`) and parsed; a ValueError saying
    what is wrong ("is not JSON", ...), an OSError when it cannot be read."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("is not JSON") from None


def refuse_foreign_run_files(out: Path) -> None:
    """A one-line UsageError when a new run in ``out`` would replace, or append to, a file of
    a name the trainer writes that artkit did not write (a folder of your own files is
    fine as long as none is called ``config.json``, ``metrics.jsonl``, ...)."""
    if not out.is_dir():
        return
    paths = [out / name for name in RUN_FILES]
    if (out / "samples").is_dir():
        paths += sorted((out / "samples").glob("step-*.png"))
    for path in paths:
        if (path.exists() or path.is_symlink()) and not _run_file_is_ours(path):
            raise UsageError(
                f"{path} exists and was not written by artkit; remove it or choose another --out"
            )


def read_run_config(run: Path) -> dict[str, Any]:
    """A run folder's ``config.json``, checked to be one artkit wrote (one-line UsageError)."""
    path = run / "config.json"
    if not path.is_file():
        raise UsageError(f"--resume {run}: no config.json there; is it an artkit run folder?")

    def wrong(why: str) -> UsageError:
        return UsageError(f"--resume {run}: its config.json {why}; is it an artkit run folder?")

    try:
        saved = _config_json(path)
    except OSError as exc:
        from artkit.errors import describe_os_error

        raise UsageError(f"--resume {run}: {describe_os_error(exc)}") from None
    except ValueError as exc:
        raise wrong(str(exc)) from None
    shapes = {"model": str, "model_config": dict, "options": dict}
    if not isinstance(saved, dict) or any(
        not isinstance(saved.get(k), t) for k, t in shapes.items()
    ):
        raise wrong("lacks model, model_config or options")
    if not isinstance(saved.get("data", ""), str):
        raise wrong("names no dataset")
    return saved


def last_metrics(run: Path) -> dict[str, Any]:
    """The run's latest value of every metric in ``metrics.jsonl`` ({} when there is none)."""
    merged: dict[str, Any] = {}
    path = run / "metrics.jsonl"
    if not path.is_file():
        return merged
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            merged.update(row)
    return merged


def train_option_names() -> list[str]:
    """The options :func:`train` takes besides model, data, out and resume."""
    from artkit.train.options import TrainOptions

    return [f.name for f in dataclasses.fields(TrainOptions)]


def train(
    model: str | None = None,
    data: str | None = None,
    *,
    max_time: float | None = None,
    steps: int | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    device: str = "auto",
    precision: str = "auto",
    seed: int | None = None,
    quiet: bool = True,
    **options: Any,
) -> TrainedRun:
    """Train ``model`` (``"dcgan:resolution=32"``) on ``data`` (``"shapes"``), as ``artkit train``.

    ``max_time`` is in minutes; other keyword arguments are the command's options
    with underscores (``batch_size=16``, ``loss="hinge"``, ``sample_every=0``).
    ``resume=RUN`` continues a run exactly where it stopped.
    """
    known = set(train_option_names()) - {"device", "precision", "seed"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"train: unknown option {unknown[0]!r}; use: {', '.join(sorted(known))}")
    given = {"max_time": max_time, "steps": steps, **options}
    given = {k: v for k, v in given.items() if v is not None}
    return run_training(
        model,
        data,
        given,
        out=Path(out) if out is not None else None,
        resume=Path(resume) if resume is not None else None,
        device=device,
        precision=precision,
        seed=seed,
        quiet=quiet,
    )


def run_training(
    model_spec: str | None,
    data_spec: str | None,
    given: dict[str, Any],
    *,
    out: Path | None = None,
    resume: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    seed: int | None = None,
    quiet: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> TrainedRun:
    """Build the model, loss and dataset from their specs and run the trainer."""
    from artkit.api.models import weights_file
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    if resume is not None:
        saved = read_run_config(resume)
        if model_spec is not None and parse_spec(model_spec)[0] != saved["model"]:
            raise UsageError(
                f"--resume {resume}: that run trains {saved['model']!r}, not {model_spec!r}"
            )
        model_name, model_options = saved["model"], saved["model_config"]
        data_spec = data_spec or saved.get("data")
        options_dict = {**saved["options"], **given}
        out = resume
    else:
        if model_spec is None:
            raise UsageError(
                "name a model to train (see `artkit list models`), or --resume a run folder"
            )
        if data_spec is None:
            raise UsageError(
                "--data is required, e.g. --data shapes or --data folder:path=my-images/"
            )
        model_name, model_options = parse_spec(model_spec)
        options_dict = dict(given)
        if out is None:
            out = next_free(Path("runs") / model_name)
        elif out.exists() and not out.is_dir():
            raise UsageError(f"--out {out} is a file, not a folder; choose another --out")
        elif weights_file(out).exists():
            raise UsageError(
                f"{out} already holds a run; continue it with --resume {out}, or choose another --out"
            )
        else:
            refuse_foreign_run_files(out)
    if seed is not None:
        options_dict["seed"] = seed
    options_dict["device"], options_dict["precision"] = device, precision

    from artkit.checkpoint import build_model
    from artkit.device import seed_everything
    from artkit.train.loop import Trainer
    from artkit.train.options import TrainOptions

    options = TrainOptions.from_json(options_dict)
    # Initial weights come from the seed too: same --seed, same run (resume overwrites them).
    seed_everything(options.seed)
    net = build_model(model_name, model_options)
    from artkit.model import Trainable

    if not isinstance(net, Trainable):
        raise UsageError(f"model {model_name!r} cannot be trained with `artkit train`")
    net.refuse_unread_options(given)
    if "lr" not in options_dict:
        # --lr's default belongs to the model family (GANs 2e-4, VAEs and style nets 1e-3)
        options.lr = float(net.default_lr)
    loss_name = options.loss or net.default_loss
    loss_obj = None
    if loss_name:
        losses = get_registry("losses")
        lname, loptions = parse_spec(loss_name)  # "feature-matching:weight=2"
        entry = losses.get(lname)
        if loptions and not entry.params:
            raise UsageError(f"loss {lname!r} takes no parameters (see artkit list losses)")
        loss_obj = entry.create(loptions)
        # A model says which loss interface it calls (GANs: d_loss/g_loss, VAEs:
        # reconstruction); a loss of another kind is a usage error, not a crash mid-step.
        method = net.loss_method
        if not hasattr(loss_obj, method):
            fitting = [e.name for e in losses if hasattr(_loss_class(e), method)]
            raise UsageError(
                f"loss {loss_name!r} does not fit model {model_name!r}; use one of: {', '.join(fitting)}"
            )
        options.loss = loss_name
    dname, doptions = parse_spec(data_spec)
    cfg = net.config
    source = (
        get_registry("datasets")
        .get(dname)
        .create(doptions, resolution=cfg.resolution, channels=cfg.channels)
    )
    net, model_options = _follow_data(
        net, model_name, model_options, source, data_spec, options.seed
    )
    cfg = net.config
    run_config: dict[str, Any] = {"data": data_spec}
    main = os.environ.get("RANK", "0") == "0"  # one line per run, not per torchrun process
    if resume is None:
        from artkit.train.recipe import plan

        entry = get_registry("models").get(model_name)
        recipe = plan(entry, model_options, options_dict, images=len(source), device=device)
        if recipe is not None:
            if main:
                say(recipe.line())
            run_config["recipe"] = recipe.to_json()
            options = TrainOptions.from_json({**options.to_json(), **recipe.options})
            if recipe.model_options:
                model_options = {**model_options, **recipe.model_options}
                seed_everything(options.seed)
                net = build_model(model_name, model_options)
    if main:
        classes = int(getattr(net, "num_classes", 0))
        what = f"{len(source)} images, {cfg.resolution}px, {cfg.channels} ch"
        what += f", conditioned on {classes} classes" if classes else ""
        styles = int(getattr(net, "num_styles", 0))
        what += f", learning {styles} styles" if styles else ""
        say(f"training {model_name} on {dname} ({what}) -> {out}")
    trainer = Trainer(
        net,
        source,
        options,
        out,
        run_config=run_config,
        resume=resume is not None,
        quiet=quiet,
        loss=loss_obj,
    )
    result = trainer.run()
    code = 0
    if result.reason == "interrupted":
        code = 143 if trainer._stop_signal == "SIGTERM" else 130
    return TrainedRun(
        path=Path(out),
        weights=trainer.weights_path,
        step=result.step,
        reason=result.reason,
        seconds=result.seconds,
        images_per_second=result.images_per_second,
        metrics=last_metrics(Path(out)) if trainer.world.is_main else {},
        exit_code=code,
        is_main=trainer.world.is_main,
    )


def _loss_class(entry: Any) -> Any:
    try:
        return entry.factory
    except Exception:  # a broken loss plugin must not break the message
        return None


def _follow_data(
    net: Any,
    model_name: str,
    model_options: dict[str, Any],
    source: Any,
    data_spec: str,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Build ``net`` again with the data's ``model_hints`` where its config differs.

    A hint the user contradicted (``musegan:low=40`` on rolls made from 36) is a
    one-line error; one they left to the default is followed. The data's
    ``model_defaults`` are followed only where the user gave no value of their own.
    """
    from artkit.data import model_defaults, model_hints

    follow: dict[str, Any] = {
        key: value
        for key, value in model_defaults(source).items()
        if hasattr(net.config, key)
        and key not in model_options
        and getattr(net.config, key) != value
    }
    for key, value in model_hints(source).items():
        if not hasattr(net.config, key) or getattr(net.config, key) == value:
            continue
        if key in model_options:
            raise UsageError(
                f"model option {key}={model_options[key]} does not match the data's "
                f"{key}={value} ({data_spec}): give the same to both"
            )
        follow[key] = value
    if not follow:
        return net, model_options
    from artkit.checkpoint import build_model
    from artkit.device import seed_everything

    model_options = {**model_options, **follow}
    seed_everything(seed)  # the same initial weights as a run given these options
    return build_model(model_name, model_options), model_options
