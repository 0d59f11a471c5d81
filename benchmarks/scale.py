"""How training and sampling throughput grow with batch size and image size.

Training: artkit's trainer on DCGAN (the ``dcgan`` model at each resolution, default
width, in-memory ``shapes``), images/s as the trainer logs it, median over intervals
after warm-up -- for batch 16, 32, 64 and 128 at 64 px, and for 32, 64 and 128 px at
batch 64. Sampling: the real ``artkit sample -n N`` in a subprocess at each image size;
images/s without the start-up (``-n 1``'s time subtracted), median of ``--repeats``.
Peak memory against series size is ``benchmarks/render.py``'s job
(``--ns 1000,10000``).

Usage: python benchmarks/scale.py [--device cpu] [--steps 15] [-n 500] [--repeats 3]
Prints two markdown tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from artkit.checkpoint import build_model, save_model
from artkit.plugins import get_registry
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions


def train_speed(res: int, batch: int, steps: int, device: str) -> float:
    torch.manual_seed(0)
    model = build_model("dcgan", {"resolution": res, "channels": 3})
    source = (
        get_registry("datasets").get("shapes").create({"count": 512}, resolution=res, channels=3)
    )
    interval, warmup = 5, 5
    options = TrainOptions(
        steps=warmup + steps,
        batch_size=batch,
        sample_every=0,
        checkpoint_every=10**9,
        log_every=interval,
        device=device,
    )
    with tempfile.TemporaryDirectory() as tmp:
        loss = get_registry("losses").get(model.default_loss).create()
        Trainer(model, source, options, tmp, quiet=True, loss=loss).run()
        rows = [json.loads(x) for x in Path(tmp, "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images_per_s"] for r in rows[warmup // interval :])


def sample_seconds(weights: Path, n: int, out: Path, device: str) -> float:
    t = time.perf_counter()
    command = ["artkit", "-q", "--device", device, "sample", str(weights), "-n", str(n)]
    subprocess.run(
        [sys.executable, "-m", *command, "-o", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}")
    print("\n| training | batch | images/s | ms/step |\n|---|---|---|---|")
    for res, batch in ((64, 16), (64, 32), (64, 64), (64, 128), (32, 64), (128, 64)):
        speed = train_speed(res, batch, args.steps, args.device)
        print(
            f"| dcgan {res} px | {batch} | {speed:.1f} | {1000 * batch / speed:.0f} |", flush=True
        )
    print("\n| sampling | images/s after start-up | start-up s |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for res in (32, 64, 128):
            torch.manual_seed(0)
            weights = save_model(
                build_model("dcgan", {"resolution": res}), tmp / f"{res}.safetensors"
            )
            many, one = [], []
            for i in range(args.repeats):
                one.append(sample_seconds(weights, 1, tmp / f"o{res}-{i}", args.device))
                many.append(sample_seconds(weights, args.n, tmp / f"m{res}-{i}", args.device))
            start, total = statistics.median(one), statistics.median(many)
            rate = (args.n - 1) / max(total - start, 1e-9)
            print(f"| dcgan {res} px, -n {args.n} | {rate:.1f} | {start:.2f} |", flush=True)


if __name__ == "__main__":
    main()
