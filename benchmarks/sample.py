"""`artkit sample -n N` end to end vs generator forward + PNG encoding alone.

Reference (same script, same model file): load the checkpoint, then for each
batch of 64 run G_ema and encode each image to PNG with plain Pillow, one after
the other in one thread -- at the precision artkit picks here (``--precision
auto``: bf16 on CPUs with native bf16), and in fp32 for orientation. artkit: the real command in a subprocess (start-up,
provenance, atomic writes, the thread pool that encodes while the next batch
is generated). Target: artkit/reference >= 0.8. Start-up overhead (`sample -n 1`)
is reported separately. Medians over --repeats runs.

Usage: python benchmarks/sample.py [-n 2000] [--resolution 64] [--repeats 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from artkit.checkpoint import build_model, load_model, save_model
from artkit.device import resolve_precision
from artkit.torch_images import to_pil


def reference(
    weights: Path, n: int, out: Path, precision: str = "auto", device: str = "cpu"
) -> float:
    t = time.perf_counter()
    device = torch.device(device)
    model = load_model(weights).to(device)
    autocast = resolve_precision(precision, device).autocast(device)
    done = 0
    while done < n:
        batch = list(range(done, min(n, done + 64)))
        with torch.inference_mode(), autocast:
            images = to_pil(model.generate(model.latents_for_seeds(batch).to(device)))
        for seed, im in zip(batch, images, strict=True):
            im.save(out / f"{seed:06d}.png")
        done += len(batch)
    return time.perf_counter() - t


def command(weights: Path, n: int, out: Path, device: str = "cpu") -> float:
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "artkit",
            "-q",
            "--device",
            device,
            "sample",
            str(weights),
            "-n",
            str(n),
            "-o",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, ... (artkit's --device)")
    args = ap.parse_args()
    dev = args.device
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        weights = save_model(
            build_model("dcgan", {"resolution": args.resolution}), tmp / "w.safetensors"
        )
        ref_t, fp32_t, cmd_t, start_t = [], [], [], []
        for i in range(args.repeats):
            for name, fn, store, n in (
                ("ref", lambda w, n, o: reference(w, n, o, "auto", dev), ref_t, args.n),
                ("fp32", lambda w, n, o: reference(w, n, o, "fp32", dev), fp32_t, args.n),
                ("cmd", lambda w, n, o: command(w, n, o, dev), cmd_t, args.n),
                ("start", lambda w, n, o: command(w, n, o, dev), start_t, 1),
            ):
                out = tmp / f"{name}{i}"
                out.mkdir()
                store.append(fn(weights, n, out))
                shutil.rmtree(out)
        ref, fp32, cmd, start = (statistics.median(x) for x in (ref_t, fp32_t, cmd_t, start_t))
        prec = resolve_precision("auto", torch.device(dev)).name
        print(
            f"{dev}, threads {torch.get_num_threads()}, dcgan {args.resolution}px, n={args.n}, median of {args.repeats}, precision {prec}"
        )
        print(f"reference fp32 forward+PNG {args.n / fp32:6.1f} images/s  ({fp32:.2f} s)")
        print(f"reference forward+PNG    {args.n / ref:8.1f} images/s  ({ref:.2f} s)")
        print(
            f"artkit sample end-to-end {args.n / cmd:8.1f} images/s  ({cmd:.2f} s)  ratio {ref / cmd:.2f}"
        )
        print(f"start-up (sample -n 1)   {start:8.2f} s")
        steady = args.n / max(cmd - start, 1e-9)
        print(
            f"artkit without start-up  {steady:8.1f} images/s  ratio {steady / (args.n / ref):.2f}"
        )


if __name__ == "__main__":
    main()
