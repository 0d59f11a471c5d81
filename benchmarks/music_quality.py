"""Music quality: a trained model's piano rolls against the data and a shuffled-notes baseline.

For a run folder (or weights file) of a music model (``musegan``, ``musicvae``) it
samples ``--n`` rolls, takes ``--n`` rolls of the data (``--data``, default
``chorales``, at the model's own size and track count) and makes the
*shuffled-notes* baseline from the data: every note moved to a random pitch and
onset, each track keeping its note count and durations
(:func:`artkit_music.metrics.shuffled_notes`). Then it prints two markdown tables:

- the objective measures (MuseGAN's EB, UPC, QN, PP, TD, DP and pitch-class
  entropy, scale consistency, notes per bar; :mod:`artkit_music.metrics`) of the
  data, the model and the baseline, and which of model and baseline is closer to
  the data on each;
- Fréchet distances in ``pianoroll`` features (:mod:`artkit_music.features`) of
  the model and of the baseline to the data, with the data's own two halves as the
  floor (what two samples of the same music score).

A model that learnt something should beat the baseline on the measures that
depend on pitch and rhythm (UPC, PP, TD, pitch-class entropy, scale consistency)
and on FD. The baseline keeps every note's length and each track's note count, so
it matches the data on QN and NPB (and nearly on EB) by construction: there it is
the bar to reach, not to beat. (Held-out chorales written as MIDI and scored with
``--samples``: closer than the baseline on the other six, FD 1.7 against the
baseline's 25.8, the data's two halves 2.7, at 300 rolls.) It is a benchmark, not a test; the suite runs ``--quick``, which trains
a tiny MuseGAN for two steps on four chorales to keep this script working.

Usage::

    python benchmarks/music_quality.py runs/musegan --n 500
    python benchmarks/music_quality.py runs/musegan/weights.safetensors --data "midi:path=songs/"
    python benchmarks/music_quality.py --samples generated/ --tracks 4 --resolution 64x48
    python benchmarks/music_quality.py --quick

One JSON line with every number goes to stderr (for scripts and the smoke test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
ARTKIT = [sys.executable, "-m", "artkit"]
QUICK_MODEL = "musegan:bars=2,pitches=24,tracks=4,width=0.25"
QUICK_DATA = "chorales:count=4"


def run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run([*ARTKIT, *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"artkit {shlex.join(args)} failed:\n{result.stderr[-2000:]}")
    return result


def model_rolls(net, n: int, seed: int, batch_size: int = 64) -> list[np.ndarray]:
    """``n`` bool rolls ``(tracks, T, P)`` from seeds ``seed .. seed + n - 1`` (> 0 sounds)."""
    seeds = list(range(seed, seed + n))
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            x = net.generate(net.latents_for_seeds(seeds[i : i + batch_size]))
            out += list((x > 0).cpu().numpy())
    return out


def data_rolls(spec: str, resolution: str, tracks: int, n: int) -> list[np.ndarray]:
    """The first ``n`` items of dataset ``spec`` as bool rolls ``(tracks, T, P)``."""
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(spec)
    source = (
        get_registry("datasets").get(name).create(options, resolution=resolution, channels=tracks)
    )
    count = min(n, len(source))
    if count < 2:
        raise SystemExit(f"--data {spec}: need at least 2 items, it has {len(source)}")
    return [np.asarray(source[i]).transpose(2, 0, 1) > 127 for i in range(count)]


def midi_rolls(folder: Path, tracks: int, resolution: str, low: int, n: int) -> list[np.ndarray]:
    """The first ``n`` ``.mid`` files of ``folder`` (sorted) as bool rolls, cut or padded to T steps."""
    from artkit.config_checks import image_size
    from artkit_music.roll import midi_to_piece

    steps, pitches = image_size(resolution)
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".mid", ".midi"))[:n]
    if len(paths) < 2:
        raise SystemExit(f"--samples {folder}: need at least 2 MIDI files, found {len(paths)}")
    out = []
    for path in paths:
        roll = np.asarray(midi_to_piece(path, tracks, low, pitches).roll, bool)[:, :steps]
        padded = np.zeros((tracks, steps, pitches), bool)
        padded[: roll.shape[0], : roll.shape[1]] = roll[:tracks]
        out.append(padded)
    return out


def frechet(extractor, a: list[np.ndarray], b: list[np.ndarray]) -> float:
    from artkit.eval.metrics import frechet_distance_of

    def feats(rolls: list[np.ndarray]) -> torch.Tensor:
        x = torch.from_numpy(np.stack(rolls)).float() * 2 - 1
        return torch.cat([extractor.embed(x[i : i + 256]) for i in range(0, len(x), 256)]).double()

    return frechet_distance_of(feats(a), feats(b))


def evaluate(
    weights: str | None,
    data: str,
    n: int,
    seed: int,
    *,
    samples: Path | None = None,
    layout: tuple[int, str, int] = (4, "64x48", 36),
    per_track: bool = False,
) -> dict:
    """Every number of the benchmark, as one dict (``rows``: the measures table).

    The model's rolls come from ``weights`` (sampled with seeds ``seed``, ...) or,
    with ``samples``, from the MIDI files in that folder, read with ``layout``
    ``(tracks, "TxP", low)`` unless ``weights`` gives the model's own.
    """
    from artkit_music.features import PianoRollFeatures
    from artkit_music.metrics import compare, measures, shuffled_notes

    net = None
    tracks, resolution, low = layout
    spb = 16
    if weights is not None:
        import artkit

        net = artkit.load(weights, device="cpu").net
        config = net.config
        tracks, resolution = int(config.channels), str(config.resolution)
        low, spb = int(getattr(config, "low", 36)), int(getattr(config, "steps_per_bar", 16))
    real = data_rolls(data, resolution, tracks, n)
    if samples is not None:
        fake = midi_rolls(samples, tracks, resolution, low, n)
    else:
        fake = model_rolls(net, len(real), seed)
    shuffled = shuffled_notes(real, seed)
    kw = {"low": low, "steps_per_bar": spb, "per_track": per_track}
    m_real, m_fake, m_base = measures(real, **kw), measures(fake, **kw), measures(shuffled, **kw)
    extractor = PianoRollFeatures()
    half = len(real) // 2
    fd = {
        "model": frechet(extractor, fake, real),
        "shuffled": frechet(extractor, shuffled, real),
        "data halves": frechet(extractor, real[:half], real[half:]) if half >= 2 else math.nan,
    }
    return {
        "weights": str(samples if samples is not None else weights),
        "data": data,
        "n": len(real),
        "n_model": len(fake),
        "resolution": resolution,
        "tracks": tracks,
        "measures": {"data": m_real, "model": m_fake, "shuffled": m_base},
        "rows": compare(m_fake, m_real, m_base),
        "fd": fd,
    }


def tables(report: dict) -> str:
    from artkit_music.metrics import markdown

    fd = report["fd"]
    lines = [
        f"Music quality: {report['weights']} against {report['data']} "
        f"({report['n']} data rolls, {report['n_model']} model rolls, "
        f"{report['resolution']}, {report['tracks']} tracks)",
        "",
        markdown(report["rows"]),
        "",
        "| FD (pianoroll) to the data | value |",
        "|---|---|",
        *(f"| {k} | {'n/a' if math.isnan(v) else f'{v:.2f}'} |" for k, v in fd.items()),
    ]
    closer = [r["closer"] for r in report["rows"] if r["closer"]]
    undefined = [r["measure"] for r in report["rows"] if math.isnan(r["fake"])]
    lines += [
        "",
        f"model closer on {closer.count('fake')} of {len(closer)} measures, "
        f"shuffled on {closer.count('baseline')}; FD: "
        + ("model" if fd["model"] < fd["shuffled"] else "shuffled")
        + " is closer",
    ]
    if undefined:  # e.g. a model that plays nothing has no pitch classes to count
        lines.append(f"model has nothing to measure for {', '.join(undefined)} (no notes?)")
    return "\n".join(lines)


def quick_run(out: Path) -> Path:
    """A tiny MuseGAN trained for two steps on four chorales (for the smoke test)."""
    run(
        ["--seed", "0", "train", QUICK_MODEL, "--data", QUICK_DATA, "--steps", "2",
         "--batch-size", "4", "--sample-every", "0", "-o", str(out)]
    )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="?", help="run folder or weights file of a music model")
    ap.add_argument("--data", default=None, help="dataset spec (default chorales)")
    ap.add_argument("--n", type=int, default=None, help="rolls per set (default 500)")
    ap.add_argument("--seed", type=int, default=0, help="first sampling seed, and the shuffle's")
    ap.add_argument(
        "--quick", action="store_true", help="train a tiny model for seconds and score it"
    )
    ap.add_argument("--keep", type=Path, default=None, help="with --quick: put the run here")
    ap.add_argument(
        "--samples", type=Path, default=None, help="score these MIDI files instead of sampling"
    )
    ap.add_argument("--tracks", type=int, default=4, help="with --samples and no weights")
    ap.add_argument("--resolution", default="64x48", help="with --samples and no weights: TxP")
    ap.add_argument(
        "--low", type=int, default=36, help="with --samples and no weights: row 0's pitch"
    )
    ap.add_argument("--per-track", action="store_true", help="also each track's and pair's values")
    args = ap.parse_args(argv)
    from artkit.errors import ArtkitError

    if args.weights is None and args.samples is None and not args.quick:
        ap.error("give a run folder or weights file, --samples DIR, or --quick")
    data = args.data or (QUICK_DATA if args.quick else "chorales")
    n = args.n or (8 if args.quick else 500)
    with tempfile.TemporaryDirectory() as scratch:
        weights = args.weights
        if weights is None and args.samples is None:
            weights = str(quick_run((args.keep or Path(scratch)) / "musegan"))
        layout = (args.tracks, args.resolution, args.low)
        options = {"samples": args.samples, "layout": layout, "per_track": args.per_track}
        try:
            report = evaluate(weights, data, n, args.seed, **options)
        except ArtkitError as exc:  # a bad checkpoint, dataset or MIDI file: one line
            raise SystemExit(f"music_quality: {exc}") from None
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}), file=sys.stderr)
    print(tables(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
