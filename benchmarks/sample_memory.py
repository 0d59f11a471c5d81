"""Peak memory of `artkit sample` does not grow with -n (streamed, bounded in-flight batches).

Runs the real command in a subprocess for each -n and reads its peak RSS
(resource.getrusage of the child). Prints peak MB per n and the ratio to the
smallest n; flat means a ratio near 1.0.

Usage: python benchmarks/sample_memory.py [--ns 1000,20000] [--resolution 32]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from artkit.checkpoint import build_model, save_model


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN keeps the max over all children so far: run the smallest n first
    return max(after, before) / 1024, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", default="1000,20000")
    ap.add_argument("--resolution", type=int, default=32)
    args = ap.parse_args()
    ns = sorted(int(x) for x in args.ns.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        weights = save_model(
            build_model("dcgan", {"resolution": args.resolution, "width": 0.5}),
            Path(tmp) / "w.safetensors",
        )
        first = None
        for n in ns:
            out = Path(tmp) / f"out{n}"
            mb, secs = peak_rss_mb(
                [
                    sys.executable,
                    "-m",
                    "artkit",
                    "-q",
                    "sample",
                    str(weights),
                    "-n",
                    str(n),
                    "-o",
                    str(out),
                ]
            )
            first = first or mb
            print(f"n={n:7d}  peak RSS {mb:7.0f} MB  ({mb / first:.2f}x)  {n / secs:6.0f} images/s")


if __name__ == "__main__":
    main()
