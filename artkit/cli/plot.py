"""``artkit plot RUN_DIR... -o curves.png``: loss and metric curves of one or several runs.

Reads each run's ``metrics.jsonl``; one panel per metric (losses first, then
``val_*`` and ``eval_*``), one line per run labelled by the run's folder name, x =
training step. ``--smooth`` applies an exponential moving average (the raw curve
stays as a faint line). matplotlib is an optional extra, imported only here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

#: logged numbers that are not curves worth a panel
SKIP = {"step", "epoch", "time", "it_per_s", "images_per_s"}


def attach(app: typer.Typer) -> None:
    app.command("plot")(plot)


def read_metrics(run: Path) -> list[dict[str, Any]]:
    from artkit.errors import UsageError

    path = run / "metrics.jsonl" if run.is_dir() else run
    if not path.is_file():
        raise UsageError(f"{run}: no metrics.jsonl (is it a run folder from artkit train?)")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: skip it, keep the rest
    return rows


def panels(runs: dict[str, list[dict[str, Any]]], only: list[str] | None) -> list[str]:
    keys: list[str] = []
    for rows in runs.values():
        for row in rows:
            for key, value in row.items():
                if key in SKIP or key in keys or not isinstance(value, int | float):
                    continue
                keys.append(key)
    if only:
        missing = [k for k in only if k not in keys]
        if missing:
            from artkit.errors import UsageError

            raise UsageError(
                f"--metric {', '.join(missing)}: not logged; logged: {', '.join(keys)}"
            )
        return only
    order = {"loss": 0, "val_": 1, "eval_": 2}
    return sorted(
        keys, key=lambda k: (next((v for p, v in order.items() if p in k), 3), keys.index(k))
    )


def smooth(values: list[float], weight: float) -> list[float]:
    out, last = [], None
    for v in values:
        last = v if last is None else weight * last + (1 - weight) * v
        out.append(last)
    return out


def plot(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (with metrics.jsonl).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output image (.png, .svg, .pdf).")
    ] = Path("curves.png"),
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Only these metrics (repeatable).")
    ] = None,
    smoothing: Annotated[
        float, typer.Option("--smooth", help="EMA weight 0-0.99 (0 = raw curves).")
    ] = 0.6,
    log_y: Annotated[bool, typer.Option("--log-y", help="Logarithmic y axes.")] = False,
) -> None:
    """Plot loss and metric curves of one or more training runs into one image; prints its path."""
    from artkit.cli.context import say
    from artkit.errors import UsageError

    if not 0 <= smoothing < 1:
        raise UsageError("--smooth must be from 0 to 0.99")
    data = {}
    for run in runs:
        label = run.name if run.is_dir() else run.parent.name
        while label in data:
            label += "'"
        data[label] = read_metrics(run)
    names = panels(data, metric)
    if not names:
        raise UsageError("no numeric metrics logged in these runs yet")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("artkit plot needs matplotlib: pip install 'artkit[plot]'") from None

    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for i, (label, records) in enumerate(data.items()):
            points = [(r["step"], r[name]) for r in records if isinstance(r.get(name), int | float)]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            colour = f"C{i % 10}"
            if smoothing:
                ax.plot(xs, ys, color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(xs, smooth(list(ys), smoothing), color=colour, label=label, linewidth=1.4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    from artkit.atomic import atomic_open

    suffix = out.suffix.lower().lstrip(".") or "png"
    with atomic_open(out) as handle:
        fig.savefig(handle, format=suffix, dpi=110)
    plt.close(fig)
    say(f"{len(names)} panels, {len(data)} runs -> {out}")
    print(out, flush=True)
