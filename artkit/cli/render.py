"""``artkit render SERIES.toml``: render a whole series, resumably; ``--dry-run`` shows the plan.

The spec format is documented in :mod:`artkit.render.spec`. Images are printed one
path per line (``--json``: a record with index, parameters and sha256) as they are
written or found already rendered, so a render feeds ``artkit post`` or ``grid``
like any other command. The manifest, sheets and walks are announced on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonRecords, NullSeparated


def attach(app: typer.Typer) -> None:
    app.command("render")(render)


def render(
    series: Annotated[Path, typer.Argument(help="The series spec (TOML).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; compute and write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Render every image again, even those already there, and replace files artkit did not write.",
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(help="Render only shard I of N (e.g. 2/4), for several machines."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", help="Images post-processed and encoded at once. (default: up to 4)"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: the spec's out, beside it)."),
    ] = None,
    as_json: JsonRecords = False,
    null: NullSeparated = False,
) -> None:
    """Render a series spec: sweeps over seeds, truncation, checkpoints, styles; resumable."""
    from artkit.cli.context import say, settings
    from artkit.errors import UsageError
    from artkit.render.plan import Plan, Shard
    from artkit.render.spec import load_spec

    spec = load_spec(series, out=out)
    chosen = Shard.parse(shard) if shard else None
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if dry_run:
        from artkit.render.models import check_series_models

        check_series_models(spec)  # what a real render checks first (render_series)
        _print_plan(Plan(spec, chosen), as_json=as_json)
        return

    from artkit.records import OutputClosed, RecordWriter
    from artkit.render.runner import render_series

    glob = settings()
    writer = RecordWriter(json=as_json, null=null)

    def on_record(job: Any, sha: str, skipped: bool) -> None:
        writer.write(
            str(spec.out / job.path),
            index=job.index,
            sha256=sha,
            params=spec.portable(job.params),
        )

    plan = Plan(spec, chosen)
    say(
        f"rendering {spec.series}: {len(plan)} {spec.items_word} ({plan.total} in the series) "
        f"-> {spec.out}/"
    )
    try:
        stats = render_series(
            spec,
            shard=chosen,
            device=glob.device,
            precision=glob.precision,
            jobs=jobs,
            force=force,
            quiet=glob.quiet,
            on_record=on_record,
            say=say,
        )
    except OutputClosed:
        return
    rate = stats.rendered / stats.seconds if stats.seconds > 0 else 0.0
    say(
        f"{stats.rendered} rendered ({rate:.1f} {'img' if spec.medium == 'image' else 'files'}/s), "
        f"{stats.skipped} already there"
        + (f", {stats.replaced} replaced (their settings had changed)" if stats.replaced else "")
    )
    for path in stats.outputs:
        say(f"wrote {path}")


def _print_plan(plan: Any, *, as_json: bool) -> None:
    """The plan without computing anything: counts per axis, total, sample output paths."""
    spec = plan.spec
    paths = [job.path for job in _sample_jobs(plan)]
    if as_json:
        print(json.dumps({**plan.describe(), "paths": paths}))
        return
    lines = [f"series    {spec.series}  ({spec.task}, {spec.combine} of {len(spec.axes)} axes)"]
    if spec.description:
        lines.append(f"          {spec.description}")
    for axis in spec.axes:
        lines.append(f"  {axis.name:<10} {len(axis.values):>6}  {axis.describe()}")
    share = f" ({len(plan)} in shard {plan.shard})" if not plan.shard.whole else ""
    lines.append(f"total     {plan.total} {spec.items_word}{share}")
    lines.append(f"out       {spec.out}/  ({spec.format})")
    if spec.post:
        lines.append(f"post      {' -> '.join(spec.post)}")
    lines.append("paths     " + ("\n          ".join(paths) if paths else "(none in this shard)"))
    for sheet in spec.sheets:
        lines.append(
            f"sheet     {sheet.rows} x {sheet.columns} (up to {sheet.limit}) -> {sheet.out}"
        )
    for walk in spec.walks:
        seeds = ", ".join(map(str, walk.seeds))
        lines.append(f"walk      seeds {seeds}; {walk.frames} frames -> {walk.out}")
    print("\n".join(lines))


def _sample_jobs(plan: Any) -> list[Any]:
    n = len(plan)
    if n == 0:
        return []
    picks = sorted({k for k in (0, 1, 2, n - 1) if 0 <= k < n})  # no set(range(n)): n may be 10**11
    first, stride = plan.shard.index, plan.shard.count
    return [plan.job(first + k * stride) for k in picks]
