"""``artkit plot RUN_DIR... -o curves.png``: loss and metric curves of one or several runs.

Reads each run's ``metrics.jsonl``; one panel per logged number (losses first, then
``val_*`` held-out metrics, then ``eval_*`` metrics from ``--eval-every``, then the
learning rates ``lr``/``lr_D`` a ``--lr-schedule`` or ``--warmup`` logs), one line
per run labelled by the run's folder name, x = training step. ``--smooth`` applies
an exponential moving average to dense curves (the raw curve stays as a faint
line); sparse curves such as evaluations are drawn as they are, with markers, and
KID carries its standard deviation as a band. matplotlib is an optional extra
(``pip install 'artkit[plot]'``), imported only when a plot is drawn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

#: logged numbers that are bookkeeping, not curves worth a panel
SKIP = {
    "step", "epoch", "time", "it_per_s", "images_per_s",
    "eval_n", "eval_ref_n", "eval_seconds", "eval_kid_std",
}  # fmt: skip
#: curves with fewer points than this are drawn raw, with markers
SPARSE = 20


def attach(app: typer.Typer) -> None:
    app.command("plot")(plot)


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """The rows of a run's metrics.jsonl (a line cut short by a crash is skipped)."""
    from artkit.errors import UsageError

    path = run / "metrics.jsonl" if run.is_dir() else run
    if not path.is_file():
        raise UsageError(f"{run}: no metrics.jsonl (is it a run folder from artkit train?)")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and _is_number(row.get("step")):
                rows.append(row)
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def run_labels(runs: list[Path]) -> list[str]:
    """Folder names, with as many parent folders as it takes to tell runs apart."""
    parts = [(r if r.is_dir() else r.parent).resolve().parts for r in runs]
    depth = 1
    while depth < max(len(p) for p in parts):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
        depth += 1
    return ["/".join(p) for p in parts]


def panels(runs: dict[str, list[dict[str, Any]]], only: list[str] | None) -> list[str]:
    """The metrics to draw, in panel order."""
    keys: list[str] = []
    for rows in runs.values():
        for row in rows:
            for key, value in row.items():
                if key not in SKIP and key not in keys and _is_number(value):
                    keys.append(key)
    if only:
        missing = [k for k in only if k not in keys]
        if missing:
            from artkit.errors import UsageError

            raise UsageError(
                f"--metric {', '.join(missing)}: not logged; logged: {', '.join(keys) or 'nothing'}"
            )
        return list(dict.fromkeys(only))

    def group(key: str) -> int:
        if key == "lr" or key.startswith("lr_"):
            return 3
        if key.startswith("eval_"):
            return 2
        if key.startswith("val_"):
            return 1
        return 0

    return sorted(keys, key=lambda k: (group(k), keys.index(k)))


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average, debiased at the start (TensorBoard style)."""
    out, last, norm = [], 0.0, 0.0
    for v in values:
        last = weight * last + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(last / norm if norm else v)
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
        float, typer.Option("--smooth", help="EMA weight 0-0.99 for dense curves (0 = raw).")
    ] = 0.6,
    log_y: Annotated[bool, typer.Option("--log-y", help="Logarithmic y axes.")] = False,
    cols: Annotated[int, typer.Option("--cols", help="Panels per row.")] = 3,
) -> None:
    """Plot loss and metric curves of one or more training runs into one image; prints its path."""
    from artkit.cli.context import say
    from artkit.errors import UsageError

    if not 0 <= smoothing < 1:
        raise UsageError("--smooth must be from 0 to 0.99")
    if cols < 1:
        raise UsageError("--cols must be at least 1")
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg", "pdf", "jpg", "jpeg", "webp"):
        raise UsageError(f"-o {out}: use a .png, .svg, .pdf, .jpg or .webp file name")
    data = dict(zip(run_labels(runs), (read_metrics(r) for r in runs), strict=True))
    names = panels(data, metric)
    if not names:
        raise UsageError("no numeric metrics logged in these runs yet")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("artkit plot needs matplotlib: pip install 'artkit[plot]'") from None

    cols = min(cols, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for i, (label, records) in enumerate(data.items()):
            points = [(r["step"], r[name], r) for r in records if _is_number(r.get(name))]
            if not points:
                continue
            xs = [p[0] for p in points]
            ys = [float(p[1]) for p in points]
            colour = f"C{i % 10}"
            if len(points) < SPARSE or not smoothing:
                ax.plot(xs, ys, color=colour, label=label, linewidth=1.4,
                        marker="o" if len(points) < SPARSE else None, markersize=3)  # fmt: skip
            else:
                ax.plot(xs, ys, color=colour, alpha=0.25, linewidth=0.8)
                ax.plot(xs, smooth(ys, smoothing), color=colour, label=label, linewidth=1.4)
            std_key = f"{name}_std"
            if all(_is_number(p[2].get(std_key)) for p in points):
                spread = [float(p[2][std_key]) for p in points]
                ax.fill_between(xs, [y - s for y, s in zip(ys, spread, strict=True)],
                                [y + s for y, s in zip(ys, spread, strict=True)],
                                color=colour, alpha=0.15, linewidth=0)  # fmt: skip
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    # the legend goes where most runs have a line (every run logs losses, not every run evals)
    fullest = max(axes.flat[: len(names)], key=lambda a: len(a.get_legend_handles_labels()[1]))
    fullest.legend(fontsize=8)
    fig.tight_layout()
    from artkit.atomic import atomic_open

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as handle:
        fig.savefig(handle, format="jpeg" if suffix == "jpg" else suffix, dpi=110)
    plt.close(fig)
    say(f"{len(names)} panels, {len(data)} runs -> {out}")
    print(out, flush=True)
