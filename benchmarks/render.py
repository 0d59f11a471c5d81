"""`artkit render`: peak memory flat in the series size, throughput against plain PyTorch.

For each size N (seeds 0..N-1, 64x64 DCGAN, batch 64) the real command runs in a
subprocess; its peak RSS comes from ``os.wait4`` (that child only). The reference
is the textbook loop in this script: ``G(z)`` in batches at the same precision,
then ``PIL.Image.save`` of each PNG, one after the other. Both write the same
number of files; the ratio is artkit's img/s over the reference's, end to end
(artkit's start-up included) and without the fixed cost of a 1-image render.
Medians over ``--repeats``.

Usage: python benchmarks/render.py [--ns 1000,10000] [--repeats 3] [--precision auto]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch

from artkit.checkpoint import build_model, load_model, save_model
from artkit.device import resolve_precision
from artkit.torch_images import to_pil


def run_render(spec: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one `artkit render` in a child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "artkit", "-q", "render", str(spec)], stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"artkit render failed ({proc.returncode})")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def reference(weights: Path, n: int, out: Path, precision: str) -> float:
    """Plain PyTorch + Pillow: generate in batches of 64, save each PNG in turn; seconds."""
    t = time.perf_counter()
    model = load_model(weights)
    G = model.G_ema.eval()
    prec = resolve_precision(precision, torch.device("cpu"))
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode(), prec.autocast(torch.device("cpu")):
        for start in range(0, n, 64):
            k = min(64, n - start)
            z = torch.randn(k, model.config.z_dim, generator=gen)
            for i, im in enumerate(to_pil(G(z).float())):
                im.save(out / f"{start + i:06d}.png")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", default="1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", default="auto")
    args = ap.parse_args()
    ns = sorted(int(x) for x in args.ns.split(","))
    os.environ["ARTKIT_PRECISION"] = args.precision
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        weights = save_model(
            build_model("dcgan", {"resolution": 64, "width": 0.5}), root / "w.safetensors"
        )
        print(f"64x64 dcgan (width 0.5), batch 64, precision {args.precision}, "
              f"{torch.get_num_threads()} threads")  # fmt: skip
        fixed = []
        for n in [1, *ns]:
            spec = root / f"s{n}.toml"
            spec.write_text(
                textwrap.dedent(
                    f"""
                    series = "bench"
                    out = "out{n}"
                    template = "{{series}}/{{seed:06d}}.png"
                    [model]
                    checkpoint = "{weights}"
                    [sweep]
                    seed = "0-{n - 1}"
                    """
                )
            )
            times, rss, refs = [], [], []
            if n == 1:  # start-up, model load, first batch: the fixed cost of one render
                for _ in range(args.repeats):
                    fixed.append(run_render(spec)[0])
                    shutil.rmtree(root / "out1")
                print(f"fixed cost (a 1-image render): {statistics.median(fixed):.2f} s")
                continue
            for _ in range(args.repeats):
                refs.append(reference(weights, n, root / f"ref{n}", args.precision))
                shutil.rmtree(root / f"ref{n}")
                secs, mb = run_render(spec)
                times.append(secs)
                rss.append(mb)
                shutil.rmtree(root / f"out{n}")
            art, ref = statistics.median(times), statistics.median(refs)
            steady = art - statistics.median(fixed)
            print(
                f"n={n:6d}  artkit render {n / art:6.0f} img/s  reference {n / ref:6.0f} img/s  "
                f"ratio {ref / art:.2f}x ({ref / steady:.2f}x without the fixed cost)  "
                f"peak RSS {statistics.median(rss):5.0f} MB (max {max(rss):.0f})"
            )


if __name__ == "__main__":
    main()
