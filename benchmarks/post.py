"""Throughput of `artkit post` with a three-step chain: one worker against all cores.

Makes --n images of --size px (the shapes dataset with a soft gradient and
photographic noise, so PNG decoding and encoding cost what they do on real
pictures), then runs the real command line

    python -m artkit post grade:contrast=1.2 sharpen palette:colors=16 -i DIR -o OUT --jobs J

for J = 1 and all cores, --repeats times each, and prints the median images/s and
the ratio. It also times `artkit post sharpen` on one image (start-up plus work,
median of 9 runs; target under 0.3 s).

Python's bytecode cache is pointed at a temporary folder for the runs, so start-up
is measured as an installed artkit would see it (this sandbox sets
PYTHONDONTWRITEBYTECODE, which recompiles every artkit module on every start).

Usage: python benchmarks/post.py [--n 500] [--size 512] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHAIN = ["grade:contrast=1.2", "sharpen", "palette:colors=16"]


def make_image(i: int, size: int, folder: Path, shapes) -> None:
    import numpy as np
    from PIL import Image

    from artkit.images import save_image

    art = np.asarray(shapes.image(i), dtype=np.float32)
    rng = np.random.default_rng(i)
    ramp = np.linspace(0.75, 1.0, size, dtype=np.float32)
    art = art * ramp[None, :, None] + rng.normal(0, 6, art.shape).astype(np.float32)
    pixels = np.clip(art, 0, 255).astype(np.uint8)
    save_image(
        Image.fromarray(pixels), folder / f"{i:04d}.png", provenance={"seed": i}, durable=False
    )


def make_images(n: int, size: int, folder: Path) -> None:
    from artkit.plugins import get_registry

    shapes = (
        get_registry("datasets").get("shapes").create({"count": n}, resolution=size, channels=3)
    )
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(lambda i: make_image(i, size, folder, shapes), range(n)))


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="number of images")
    ap.add_argument("--size", type=int, default=512, help="image side in pixels")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    py = [sys.executable, "-m", "artkit"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        t = time.perf_counter()
        make_images(args.n, args.size, root / "in")
        print(f"made {args.n} images of {args.size}x{args.size} in {time.perf_counter() - t:.1f} s")

        one = root / "in" / "0000.png"
        sharpen = [*py, "post", "sharpen", "-i", str(one), "-o", str(root / "one")]
        timed(sharpen, env)  # warm the bytecode and page caches
        startup = statistics.median(timed(sharpen, env) for _ in range(9))
        print(
            f"artkit post sharpen, one {args.size}x{args.size} image: {startup * 1000:.0f} ms median"
        )

        rates = {}
        for jobs in ("1", "all"):
            argv = [
                *py,
                "post",
                *CHAIN,
                "-i",
                str(root / "in"),
                "-o",
                str(root / "out"),
                "-j",
                jobs,
            ]
            times = [timed(argv, env) for _ in range(args.repeats)]
            rates[jobs] = args.n / statistics.median(times)
            spread = ", ".join(f"{x:.1f}" for x in times)
            print(f"--jobs {jobs:>3s}: {rates[jobs]:6.1f} images/s  (runs: {spread} s)")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"chain: {' '.join(CHAIN)}")
        print(f"all cores ({cores}) vs 1 worker: {rates['all'] / rates['1']:.2f}x")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
