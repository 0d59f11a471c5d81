"""``artkit eval SAMPLES --ref REFERENCE``: how close generated images are to real ones.

SAMPLES are image paths or folders, or with none the records on stdin, so
``artkit sample m.safetensors -n 2000 -o fakes | artkit eval --ref emoji`` works.
Files of a plugin's medium (MIDI) are read through it (``load_array``) at the
geometry of the model that made them (from their provenance), the reference too;
``--features auto`` is then the medium's ``eval_features``, and the medium's own
measures (``evaluate``) are printed under the distances.
REFERENCE is a folder, a records file (one path or JSON record a line), ``-`` for
the records on stdin (then SAMPLES are arguments), or a dataset spec
(``shapes:count=2000``, ``folder:path=art/``) rendered at the samples' size.

Metrics: ``fd`` (Fréchet distance), ``fdinf`` (the Fréchet distance extrapolated
to unlimited images, and the bias of ``fd`` at these counts; see
:func:`artkit.eval.metrics.frechet_distance_unbiased`), ``kid`` (kernel inception distance, mean and
std over subsets), ``pr`` (precision and recall, k-NN manifolds), ``dc`` (density
and coverage), ``copy`` (the data-copying test: with ``--held-out NEW`` and REFERENCE
the whole training set, are the samples nearer the training images than new
images are? See :func:`artkit.eval.metrics.data_copying`). The output always
names the features; it says FID only with the verified FID Inception weights.
Reference statistics are cached (``$ARTKIT_CACHE_DIR/eval``) by the reference's
fingerprint, the extractor and the image count.

The work is :func:`artkit.api.evaluate.evaluate` (``artkit.evaluate``); this module
parses the options and prints its report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonObject


def attach(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def notice_printer() -> Callable[[str], None]:
    """One-line notices on stderr (silent with -q), each starting ``artkit: notice:``."""
    from artkit.cli.context import say

    def notice(message: str) -> None:
        say("artkit: notice: " + message.removeprefix("artkit: notice: "))

    return notice


def eval_command(
    samples: Annotated[
        list[str] | None, typer.Argument(help="Generated images or folders (default: stdin).")
    ] = None,
    ref: Annotated[
        str,
        typer.Option(
            "--ref",
            "-r",
            help="Reference: a folder, a records file, - (stdin), or a dataset spec (shapes:count=2000).",
        ),
    ] = "",
    metrics: Annotated[
        str,
        typer.Option(
            help="Comma-separated: fd, fdinf (FD extrapolated to unlimited images), kid, "
            "pr (precision/recall), dc (density/coverage), "
            "copy (data copying; needs --held-out)."
        ),
    ] = "fd,kid,pr",
    held_out: Annotated[
        str,
        typer.Option(
            "--held-out",
            help="Images of the reference's kind the model never saw (a folder, records file or "
            "dataset spec, e.g. shapes:seed=1): adds the data-copying test (copy), which then "
            "takes --ref as the whole training set.",
        ),
    ] = "",
    features: Annotated[
        str,
        typer.Option(
            help="Feature extractor: auto (FID Inception with its weights, else random-conv), "
            "inception, vgg16, random-conv, checkpoint:path=RUN, classifier:data=shapes "
            "(trained on the data's own labels; see artkit list extractors)."
        ),
    ] = "auto",
    weights: Annotated[
        Path | None,
        typer.Option(help="Weights file for the extractor (pt_inception-2015-12-05-6726825d.pth)."),
    ] = None,
    n: Annotated[int | None, typer.Option("-n", help="Use at most N images of each set.")] = None,
    k: Annotated[int, typer.Option("-k", help="Neighbours for precision/recall.")] = 3,
    kid_subsets: Annotated[int, typer.Option(help="KID: random subsets averaged.")] = 100,
    kid_subset_size: Annotated[int, typer.Option(help="KID: images per subset.")] = 1000,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 50,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Recompute the reference statistics.")
    ] = False,
    as_json: JsonObject = False,
) -> None:
    """Score generated images against a reference: FD (FID with the standard weights), KID, precision/recall."""
    from artkit.api.evaluate import evaluate
    from artkit.cli.context import settings

    report = evaluate(
        samples or None, ref, metrics=metrics, held_out=held_out or None, features=features,
        weights=weights, n=n, k=k, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size,
        batch_size=batch_size, cache=not no_cache, device=settings().device,
        notice=notice_printer(),
    )  # fmt: skip
    if as_json:
        print(json.dumps(report), flush=True)
        return
    print(_table(report), flush=True)


def _table(report: dict[str, Any]) -> str:
    note = (
        ""
        if report["standard_fid"]
        else "  (non-standard features: compare only with the same features)"
    )
    cached = " (cached statistics)" if report["reference_cached"] else ""
    rows = [
        ("features", f"{report['features']}{note}"),
        ("images", f"{report['samples']} samples, {report['reference']} reference{cached}"),
    ]
    if "fd" in report:
        rows.append((report["fd_label"], f"{report['fd']:.4f}"))
    if "fd_inf" in report:
        rows.append(
            (
                f"{report['fd_label']} extrapolated",
                f"{report['fd_inf']:.4f}  (unlimited images; bias at these counts "
                f"{report['fd_bias']:.4f})",
            )
        )
    if "kid" in report:
        rows.append(("KID", f"{report['kid']:.5f} ± {report['kid_std']:.5f}"))
    if "precision" in report:
        rows.append((f"precision (k={report['k']})", f"{report['precision']:.4f}"))
        rows.append((f"recall (k={report['k']})", f"{report['recall']:.4f}"))
    if "density" in report:
        rows.append((f"density (k={report['k']})", f"{report['density']:.4f}"))
        rows.append((f"coverage (k={report['k']})", f"{report['coverage']:.4f}"))
    if "copying_z" in report:
        rows.append(("held-out images", f"{report['held_out']}"))
        verdict = _copying_verdict(report["copying_z"])
        rows.append(("copying z (C_T)", f"{report['copying_z']:+.2f}  {verdict}"))
        rows.append(("copying z (global)", f"{report['copying_z_global']:+.2f}"))
        rows.append(("nearest ratio", f"{report['nearest_ratio']:.4f}  (1: as near as new images)"))
        rows.append(("copy share", f"{report['copy_share']:.4f}  (0.01: as new images)"))
    for row in report.get("measures", []):
        values = {k: v for k, v in row.items() if k != "name"}
        shown = "  ".join(f"{k} {_number(v)}" for k, v in values.items())
        rows.append((str(row.get("name", "?")), shown))
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{value}" for name, value in rows)


def _copying_verdict(z: float) -> str:
    """Meehan et al.'s reading of C_T: below -3 copies, above 3 falls short of the data."""
    if z < -3:
        return "(copies: samples nearer the training images than new images are)"
    if z > 3:
        return "(farther from the training images than new images: not copying)"
    return "(as near as new images: no sign of copying)"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
