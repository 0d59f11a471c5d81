"""fastgan training speed: artkit's layers vs the same networks in stock PyTorch layers.

fastgan's step at the size its recipe trains in a few CPU minutes (32 px, width
0.1875, batch 64; ``--classes 62`` with mode seeking is the glyphs recipe) is made
of small maps, where some stock layers take slow paths on a CPU: ``nn.GLU`` on a
channels-last map (its sigmoid reads a strided half), and the 1x1 -> 4x4 seed
``nn.ConvTranspose2d`` (oneDNN's transposed conv, five times the cost of the same
matrix product). artkit's :class:`~artkit.nn.glu.GLU` and
:class:`~artkit.nn.small_conv.SeedConvTranspose` are those layers with the same
parameters; :func:`~artkit.nn.small_conv.stock_layers` turns them back. Both runs
use artkit's trainer (bf16 and channels-last where the CPU has native bf16) on the
same in-memory ``shapes`` images, alternated ``--rounds`` times; each prints images/s
over intervals of ``--interval`` steps after ``--warmup``, and the summary their
medians and the ratio.

Usage: python benchmarks/train_fastgan.py [--steps 200] [--rounds 3] [--classes 0]
       [--resolution 32] [--width 0.1875]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from artkit.checkpoint import build_model
from artkit.nn.small_conv import stock_layers
from artkit.plugins import get_registry
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from artkit_gan.recipes import MODE_SEEKING


def run(args: argparse.Namespace, stock: bool) -> list[float]:
    """images/s per logged interval after the warm-up, one whole training run."""
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": 1024}, resolution=args.resolution, channels=3)
    )
    torch.manual_seed(0)
    spec = {"resolution": args.resolution, "channels": 3, "width": args.width}
    if args.classes:
        spec["classes"] = args.classes
    model = build_model("fastgan", spec)
    if stock:
        for net in (model.G, model.D, model.G_ema):
            stock_layers(net)
    options = TrainOptions(
        steps=args.warmup + args.steps,
        batch_size=64,
        lr=1e-3,
        lr_d=2e-3,
        betas=(0.0, 0.99),
        mode_seeking=MODE_SEEKING if args.classes else 0.0,  # as the recipe
        sample_every=0,
        checkpoint_every=10**9,
        log_every=args.interval,
    )
    loss = get_registry("losses").get("hinge").create()
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(model, source, options, tmp, quiet=True, loss=loss).run()
        lines = Path(tmp, "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    return [r["images_per_s"] for r in rows[args.warmup // args.interval :] if "images_per_s" in r]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--interval", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="alternated runs of each")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--width", type=float, default=0.1875)
    ap.add_argument("--classes", type=int, default=0, help="62: the glyphs recipe's model")
    args = ap.parse_args()
    speeds: dict[str, list[float]] = {"stock layers": [], "artkit": []}
    for r in range(args.rounds):
        order = ["stock layers", "artkit"] if r % 2 == 0 else ["artkit", "stock layers"]
        for name in order:
            intervals = run(args, stock=name == "stock layers")
            speeds[name] += intervals
            print(f"round {r} {name}: {statistics.median(intervals):.1f} images/s", flush=True)
    ref = statistics.median(speeds["stock layers"])
    print(
        f"fastgan {args.resolution} px, width {args.width:g}, classes {args.classes}, batch 64, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for name, values in speeds.items():
        med = statistics.median(values)
        print(f"{name:>13}: {med:8.1f} images/s  {med / ref:5.2f}x  ({len(values)} intervals)")


if __name__ == "__main__":
    main()
