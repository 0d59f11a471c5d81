"""Picture quality per CPU-minute: artkit's default recipe against the textbook DCGAN recipe.

For each dataset and wall-clock budget, both recipes train for the same minutes on
the same data, each samples ``--n`` images, and ``artkit.evaluate`` (what ``artkit
eval`` prints) scores both sets against the same reference images (FD, KID, precision,
recall, coverage) with the same features. The table printed at the end puts them side by side, with FD ratios.

- **textbook**: pytorch/examples' DCGAN, written out below in plain PyTorch: the
  DCGAN generator and discriminator (64 px: ngf = ndf = 64, four up/down steps;
  32 px: one step fewer), BatchNorm, Adam 2e-4 betas (0.5, 0.999), BCE, batch 64,
  no EMA, no augmentation, fp32, a separate D call on real and fake. It samples
  with G in training mode (BatchNorm on each batch's own statistics), as
  pytorch/examples' ``main.py`` draws its samples: it never calls ``eval()``.
- **artkit**: ``artkit train MODEL --data DATA --max-time MINUTES`` with nothing
  else given, i.e. whatever artkit's defaults pick (``--model`` chooses which model;
  ``--artkit-args`` adds options, to try candidates).

One run of a recipe is a noisy measurement: on 10-minute glyphs the textbook's FD
ranged over 0.121-0.153 in four runs, enough to move a ratio from 0.44x to 0.55x.
``--repeats N`` trains every cell N times with seeds ``--seed``, ``--seed + 1``, ...,
alternating which recipe goes first so a drift in the machine's pace hits both, and
ends with a table of medians (FD with its range) and, per cell, whether artkit meets
issue #16's bar there: median FD at most half the textbook's, median precision and
recall at least the textbook's.

FD on a few thousand images overstates the distance between the distributions by a
bias both recipes share (two halves of the 1,823 emoji are 0.20 apart in random-conv
features), which pulls a ratio toward 1. ``FD_inf`` (``artkit eval --metrics fdinf``,
:func:`artkit.eval.metrics.frechet_distance_unbiased`) is FD extrapolated to unlimited
images; the table gives its ratio beside FD's. The bar stays the issue's, on FD.

FD, precision and recall cannot see a model that hands back its training images:
they would score it as perfect. ``--held-out SPEC`` (new images of the data's kind,
e.g. ``shapes:seed=1`` for a dataset of one seed) adds the data-copying test
(``artkit eval --held-out``, :func:`artkit.eval.metrics.data_copying`) against the
whole training set: ``copy z`` well below 0 (< -3) means a recipe copies.

It is a benchmark, not a test: it runs for minutes per cell. The suite runs
``--quick`` (a few seconds a cell) to keep it working.

Usage::

    python benchmarks/quality.py --minutes 3 --data shapes,glyphs --resolution 32
    python benchmarks/quality.py --minutes 3,10 --data shapes --model dcgan
    python benchmarks/quality.py --minutes 10 --data glyphs --model fastgan --repeats 3
    python benchmarks/quality.py --quick
    python benchmarks/quality.py --minutes 10 --data emoji --model fastgan --seed 4 --rows runs.jsonl
    python benchmarks/quality.py --pool runs.jsonl benchmarks/results/quality-10min.jsonl

``--rows FILE`` appends every scored run to FILE as one JSON line; ``--pool FILE...``
trains nothing and prints the table and the medians over every run in the files (a
saved stderr log works too: its JSON lines are the same rows), so runs of different
days judge a cell together. ``benchmarks/results/quality-10min.jsonl`` holds every
10-minute emoji and glyph run of the recipes as they are now (older ones transcribed
from the gallery's tables, without the scores those did not give);
``quality-10min-earlier.jsonl`` the runs of a recipe since changed (the glyph recipe
before a conditioned fastgan took width 0.125), so they no longer count.

Datasets: any spec (``shapes``, ``glyphs``, ``emoji``, ``samples:crops=200``,
``idx:path=train-images.gz``, ``folder:path=DIR``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import artkit

ROOT = Path(__file__).resolve().parent.parent
ARTKIT = [sys.executable, "-m", "artkit"]


# -- the textbook recipe ---------------------------------------------------------------


def textbook_generator(resolution: int, channels: int, z_dim: int = 100, ngf: int = 64):
    """pytorch/examples' DCGAN generator (one up-step fewer at 32 px)."""
    mults = [8, 4, 2, 1] if resolution == 64 else [4, 2, 1]
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(z_dim, ngf * mults[0], 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * mults[0]),
        nn.ReLU(True),
    ]
    for a, b in itertools.pairwise(mults):
        layers += [
            nn.ConvTranspose2d(ngf * a, ngf * b, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * b),
            nn.ReLU(True),
        ]
    layers += [nn.ConvTranspose2d(ngf * mults[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def textbook_discriminator(resolution: int, channels: int, ndf: int = 64):
    """pytorch/examples' DCGAN discriminator (one down-step fewer at 32 px), logits out."""
    mults = [1, 2, 4, 8] if resolution == 64 else [1, 2, 4]
    layers: list[nn.Module] = [
        nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
    ]
    for a, b in itertools.pairwise(mults):
        layers += [
            nn.Conv2d(ndf * a, ndf * b, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * b),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    layers += [nn.Conv2d(ndf * mults[-1], 1, 4, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def _init(m: nn.Module) -> None:
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def load_images(spec: str, resolution: int, channels: int) -> torch.Tensor:
    """The dataset as uint8 ``(N, C, H, W)``, through artkit's registry (same pixels as artkit)."""
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(spec)
    source = (
        get_registry("datasets").get(name).create(options, resolution=resolution, channels=channels)
    )
    import numpy as np

    array = np.stack([source[i] for i in range(len(source))])
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def train_textbook(images: torch.Tensor, minutes: float, seed: int = 0):
    """The textbook loop for ``minutes`` of wall clock; returns (G, steps)."""
    from artkit.allocator import tune_allocator

    # the malloc settings artkit's trainer makes for itself (process-wide, so the
    # textbook's steps get them too: the comparison is of recipes, not allocators)
    tune_allocator()
    torch.manual_seed(seed)
    res, channels = images.shape[-1], images.shape[1]
    G, D = textbook_generator(res, channels), textbook_discriminator(res, channels)
    G.apply(_init)
    D.apply(_init)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    batch = 64
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    deadline, steps = time.monotonic() + minutes * 60, 0
    while time.monotonic() < deadline:
        real = images[torch.randint(0, len(images), (batch,))].float() / 127.5 - 1
        D.zero_grad()
        bce(D(real), ones).backward()
        fake = G(torch.randn(batch, 100, 1, 1))
        bce(D(fake.detach()), zeros).backward()
        opt_d.step()
        G.zero_grad()
        bce(D(fake), ones).backward()
        opt_g.step()
        steps += 1
    # left in training mode, as pytorch/examples samples it: in eval mode its BatchNorm
    # statistics trail its weights (FD 0.46 in eval mode on 10-minute photo crops)
    return G, steps


def save_textbook_samples(G: nn.Module, n: int, out: Path, channels: int) -> None:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(12345)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    with torch.no_grad():
        for start in range(0, n, 250):
            z = torch.randn(min(250, n - start), 100, 1, 1, generator=gen)
            x = ((G(z).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
            for i, pixels in enumerate(x.numpy()):
                img = pixels[..., 0] if channels == 1 else pixels
                Image.fromarray(img, mode).save(out / f"{start + i:06d}.png")


# -- artkit ------------------------------------------------------------------------------


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run([*ARTKIT, *args], capture_output=True, text=True, env=env, **kw)
    if result.returncode != 0:
        raise SystemExit(f"artkit {shlex.join(args)} failed:\n{result.stderr[-2000:]}")
    return result


def train_artkit(
    model: str, data: str, minutes: float, out: Path, extra: list[str], seed: int = 0
) -> dict:
    started = time.monotonic()
    result = run(
        [
            "--seed",
            str(seed),
            "train",
            model,
            "--data",
            data,
            "--max-time",
            str(minutes),
            "-o",
            str(out),
            *extra,
        ]
    )
    from artkit.checkpoint import read_header

    meta = read_header(out / "weights.safetensors").metadata
    recipe = [ln for ln in result.stderr.splitlines() if "recipe" in ln.lower()]
    return {
        "steps": int(meta.get("artkit.step", 0)),
        "seconds": round(time.monotonic() - started, 1),
        "how": recipe[-1] if recipe else "artkit defaults",
    }


def feature_spec(features: str, data: str, quick: bool = False) -> str:
    """``classifier`` means the classifier trained on this dataset's own labels."""
    if features != "classifier":
        return features
    spec = f'classifier:data="{data}"' if "," in data else f"classifier:data={data}"
    return spec + (",steps=150" if quick else "")


def evaluate(samples: Path, data: str, n: int, features: str) -> dict | None:
    """The eval report, or None where the features do not apply (a dataset without labels).

    In this process (``artkit.evaluate``, what ``artkit eval --json`` prints), so a
    score costs no start of another Python with torch (about 3 s here)."""
    from artkit.api.evaluate import evaluate as score
    from artkit.errors import MetricRefused, UsageError

    try:
        try:
            return score(samples, data, n=n, features=features, metrics="fd,fdinf,kid,pr,dc")
        except MetricRefused as error:
            # too few images to extrapolate FD: the rest still counts (refused from the
            # counts before any features are extracted, so nothing is extracted twice)
            print(f"{features}: {error}; FD_inf skipped", file=sys.stderr)
            return score(samples, data, n=n, features=features, metrics="fd,kid,pr,dc")
    except UsageError as error:
        if "has no labels" in str(error):
            print(f"{features}: {data} has no labels; skipped", file=sys.stderr)
            return None
        raise SystemExit(f"evaluating {samples} against {data}: {error}") from None


def copying(samples: Path, data: str, held_out: str, features: str) -> dict:
    """The data-copying test against all of ``data`` (not ``--n`` of it: a copy of an
    image left out would look new)."""
    from artkit.api.evaluate import evaluate as score

    report = score(samples, data, held_out=held_out, features=features, metrics="copy")
    return {k: report[k] for k in ("copying_z", "copy_share", "nearest_ratio")}


def metric(report: dict, key: str) -> float:
    for k in (key, key.upper()):
        if k in report:
            value = report[k]
            return value["mean"] if isinstance(value, dict) else float(value)
    metrics = report.get("metrics", {})
    value = metrics.get(key)
    if isinstance(value, dict):
        return float(value.get("value", value.get("mean")))
    return float(value) if value is not None else float("nan")


#: the columns a summary takes the median of
SCORES = ("fd", "fd_inf", "kid", "precision", "recall", "coverage", "steps")
#: issue #16's bar: artkit's FD at most this fraction of the textbook's
FD_BAR = 0.5


def _median(values) -> float:
    """The median of the values present (not None or NaN); NaN when there are none."""
    present = [v for v in values if v is not None and v == v]
    return statistics.median(present) if present else float("nan")


#: what a pooled row must have to be judged, and of which type (the other scores may
#: be missing, but where present they are numbers)
ROW_KEYS = {"data": str, "features": str, "recipe": str, "seed": int, "minutes": float, "fd": float}


def _is(value, kind: type) -> bool:
    """``value`` is of ``kind``, an int counting as a float and a bool as neither."""
    kinds = (int, float) if kind is float else kind
    return isinstance(value, kinds) and not isinstance(value, bool)


def read_rows(paths: list[Path]) -> list[dict]:
    """Scored runs from JSON-lines files: each line that is a JSON object with a
    ``recipe`` and an ``fd`` (other lines, such as a log's progress, are skipped).
    A broken line, a run without :data:`ROW_KEYS` or a score that is not a number
    raises ValueError naming it."""
    rows = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.startswith("{"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not (isinstance(row, dict) and "recipe" in row and "fd" in row):
                continue
            lacking = [k for k, kind in ROW_KEYS.items() if not _is(row.get(k), kind)]
            lacking += [k for k in SCORES if k not in ROW_KEYS and row.get(k) is not None
                        and not _is(row[k], float)]  # fmt: skip
            if lacking:
                raise ValueError(f"{path}:{number}: a run without a valid {', '.join(lacking)}")
            row.setdefault("source", str(path))  # a run's day: see print_runs
            rows.append(row)
    return rows


def recipe_order(recipes: list[str], repeat: int) -> list[str]:
    """The recipes in the order repeat ``repeat`` runs them: reversed on odd repeats."""
    return list(reversed(recipes)) if repeat % 2 else list(recipes)


def summarise(rows: list[dict]) -> list[dict]:
    """Medians over repeats: one row per (data, minutes, features, recipe), first-seen order.

    Each has the median of every score in :data:`SCORES`, ``fd_min``/``fd_max`` and
    ``runs``; artkit's rows also ``ratio`` (median FD over the textbook's median FD),
    ``ratio_inf`` (the same for ``fd_inf``, where the textbook's is above 0) and ``meets`` (the bar: ``ratio`` at most :data:`FD_BAR`, median precision and
    recall at least the textbook's), where the textbook ran on the same cell. A score
    no run of a group recorded has the median NaN; ``meets`` is then None where the
    parts that are known all pass (False where one fails).
    """
    groups: dict[tuple, list[dict]] = {}  # a row may lack a score (older records): skipped
    for row in rows:
        key = (row["data"], row["minutes"], row["features"], row["recipe"])
        groups.setdefault(key, []).append(row)
    summary = []
    for (data, minutes, features, recipe), runs in groups.items():
        entry = {"data": data, "minutes": minutes, "features": features, "recipe": recipe}
        entry.update({k: _median(r.get(k) for r in runs) for k in SCORES})
        fds = [r["fd"] for r in runs]
        entry.update(fd_min=min(fds), fd_max=max(fds), runs=len(runs))
        summary.append(entry)
    for entry in summary:
        ref = next(
            (e for e in summary if e["recipe"] == "textbook" and e["recipe"] != entry["recipe"]
             and all(e[k] == entry[k] for k in ("data", "minutes", "features"))),
            None,
        )  # fmt: skip
        if ref is None or not ref["fd"]:
            continue
        entry["ratio"] = entry["fd"] / ref["fd"]
        if ref["fd_inf"] > 0:  # the same ratio without FD's small-sample bias
            entry["ratio_inf"] = entry["fd_inf"] / ref["fd_inf"]
        parts = [entry["ratio"] <= FD_BAR] + [
            None if entry[k] != entry[k] or ref[k] != ref[k] else entry[k] >= ref[k]
            for k in ("precision", "recall")
        ]  # None: a median no run recorded (older records), so that part is unknown
        entry["meets"] = False if False in parts else (None if None in parts else True)
    return summary


def print_runs(rows: list[dict]) -> None:
    """One line a run; FD/textbook against the textbook run of the same seed and
    ``source`` (the same day's run, where pooled days hold several of one seed). A
    score a row lacks prints as nan."""
    nan = float("nan")
    print(
        f"{'data':24} {'min':>5} {'features':12} {'recipe':9} {'seed':>4} {'FD':>9} {'FD_inf':>7} {'KID':>8} {'prec':>5} {'rec':>5} {'cov':>5} {'steps':>6}  FD/textbook"
    )
    for row in rows:
        ref = next(
            (r for r in rows if r["recipe"] == "textbook" and r["seed"] == row["seed"]
             and r.get("source") == row.get("source")
             and all(r[k] == row[k] for k in ("data", "minutes", "features"))),
            None,
        )  # fmt: skip
        ratio = f"{row['fd'] / ref['fd']:.2f}" if ref and ref["fd"] else "-"
        copies = f"  copy z {row['copying_z']:+.1f}" if "copying_z" in row else ""
        got = {k: nan if row.get(k) is None else row[k] for k in SCORES}
        print(
            f"{row['data'][:24]:24} {row['minutes']:5g} {row['features'][:12]:12} {row['recipe']:9} "
            f"{row['seed']:4d} {got['fd']:9.3f} {got['fd_inf']:7.3f} {got['kid']:8.4f} {got['precision']:5.2f} "
            f"{got['recall']:5.2f} {got['coverage']:5.2f} {got['steps']:6.0f}  {ratio}{copies}"
        )


def print_summary(summary: list[dict]) -> None:
    """Medians over the repeats, FD's range, and whether each artkit cell meets the bar."""
    print(
        f"\nmedians {'data':16} {'min':>5} {'features':12} {'recipe':9} {'runs':>4} {'FD':>9} {'FD range':>17} {'FD_inf':>7} {'prec':>5} {'rec':>5} {'cov':>5} {'steps':>6}  FD/textbook  FD_inf/textbook  bar"
    )
    for e in summary:
        ratio = f"{e['ratio']:.2f}" if "ratio" in e else "-"
        ratio_inf = f"{e['ratio_inf']:.2f}" if "ratio_inf" in e else "-"
        verdict = {True: "meets", False: "misses", None: "unknown"}
        bar = verdict[e["meets"]] if "meets" in e else "-"
        print(
            f"medians {e['data'][:16]:16} {e['minutes']:5g} {e['features'][:12]:12} {e['recipe']:9} "
            f"{e['runs']:4d} {e['fd']:9.3f} {e['fd_min']:8.3f}-{e['fd_max']:<8.3f} {e['fd_inf']:7.3f} "
            f"{e['precision']:5.2f} {e['recall']:5.2f} {e['coverage']:5.2f} {e['steps']:6.0f}  "
            f"{ratio:11}  {ratio_inf:15}  {bar}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="3", help="budgets, comma-separated (wall clock, each)")
    ap.add_argument("--data", default="shapes", help="dataset specs separated by ';'")
    ap.add_argument("--model", default="dcgan", help="artkit model spec (without resolution)")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000, help="samples per recipe, and reference images")
    ap.add_argument(
        "--features",
        default="random-conv,classifier",
        help="comma-separated extractors; classifier = trained on the dataset's labels, where it has them",
    )
    ap.add_argument("--artkit-args", default="", help="extra `artkit train` options (quoted)")
    ap.add_argument("--recipes", default="textbook,artkit")
    ap.add_argument(
        "--seed", type=int, default=0, help="both recipes' seed: another run of the same cells"
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs of every cell (seeds --seed, --seed + 1, ...); the summary takes medians",
    )
    ap.add_argument(
        "--held-out",
        default="",
        help="new images of the data's kind (shapes:seed=1): adds the data-copying test",
    )
    ap.add_argument("--quick", action="store_true", help="seconds per cell: checks that it runs")
    ap.add_argument("--keep", type=Path, help="keep runs and samples under this folder")
    ap.add_argument("--rows", type=Path, help="append every scored run to this JSON-lines file")
    ap.add_argument(
        "--pool",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="train nothing: the table and medians over the runs in these JSON-lines files",
    )
    args = ap.parse_args()
    if args.pool:
        missing = [str(p) for p in args.pool if not p.is_file()]
        if missing:
            ap.error(f"--pool: no such file: {', '.join(missing)}")
        try:
            pooled = read_rows(args.pool)
        except ValueError as error:
            ap.error(f"--pool: {error}")
        if not pooled:
            ap.error("--pool: no scored runs in " + ", ".join(map(str, args.pool)))
        print_runs(pooled)
        print_summary(summarise(pooled))
        return
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.quick:
        args.minutes, args.n = "0.05", 64
    budgets = [float(m) for m in args.minutes.split(",")]
    datasets = [d for d in args.data.split(";") if d]
    recipes = args.recipes.split(",")
    features = args.features.split(",")
    work = Path(args.keep or tempfile.mkdtemp(prefix="artkit-quality-"))
    rows = []
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.resolution}px x{args.channels}, "
        f"n={args.n}, features={args.features}",
        file=sys.stderr,
    )
    for data in datasets:
        images = load_images(data, args.resolution, args.channels)
        for minutes, repeat in itertools.product(budgets, range(args.repeats)):
            seed = args.seed + repeat
            for recipe in recipe_order(recipes, repeat):
                cell = work / f"{data.replace('/', '_').replace(':', '_')}-{minutes}-{recipe}"
                if args.repeats > 1:
                    cell = cell.with_name(f"{cell.name}-s{seed}")
                samples = cell / "samples"
                if recipe == "textbook":
                    G, steps = train_textbook(images, minutes, seed)
                    if args.keep:  # to score it again later: G.state_dict() (no pickle)
                        from safetensors.torch import save_file

                        cell.mkdir(parents=True, exist_ok=True)
                        save_file(G.state_dict(), str(cell / "G.safetensors"))
                    save_textbook_samples(G, args.n, samples, args.channels)
                    info = {"steps": steps, "how": "pytorch/examples DCGAN"}
                else:
                    spec = f"{args.model}:resolution={args.resolution},channels={args.channels}"
                    if ":" in args.model:
                        spec = f"{args.model},resolution={args.resolution},channels={args.channels}"
                    info = train_artkit(
                        spec, data, minutes, cell / "run", shlex.split(args.artkit_args), seed
                    )
                    # seeds 0 .. n-1, as `artkit sample -n N` writes them
                    artkit.load(cell / "run").save_samples(range(args.n), samples)
                for feat in features:
                    report = evaluate(samples, data, args.n, feature_spec(feat, data, args.quick))
                    if report is None:
                        continue
                    row = {
                        "data": data,
                        "minutes": minutes,
                        "recipe": recipe,
                        "seed": seed,
                        "features": feat,
                        "fd": metric(report, "fd"),
                        # extrapolated to unlimited images: FD less its bias at n images
                        "fd_inf": metric(report, "fd_inf"),
                        "kid": metric(report, "kid"),
                        "precision": metric(report, "precision"),
                        "recall": metric(report, "recall"),
                        # robust to stray samples, which inflate recall (Naeem et al. 2020)
                        "coverage": metric(report, "coverage"),
                        **info,
                    }
                    if args.held_out:
                        spec = feature_spec(feat, data, args.quick)
                        row.update(copying(samples, data, args.held_out, spec))
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
                    if args.rows:
                        with args.rows.open("a") as out:
                            out.write(json.dumps(row) + "\n")
    print_runs(rows)
    print_summary(summarise(rows))
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
