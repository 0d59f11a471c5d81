"""``artkit data check``: seconds for a 10,000-image folder, and what it finds there.

Makes a folder of ``--count`` 128x128 pictures (smooth random colour fields with fine
noise; half PNG, half JPEG q=90), plants 1% exact copies and 1% near-duplicates (each
resized to 50-90% and re-encoded as JPEG q=70), then times the real command in a
subprocess -- ``artkit data check folder:path=DIR --json`` -- start-up included. It
prints the seconds, files per second, and how many planted duplicates were found and
how many other files were flagged (should be 0). Target: under 60 s for 10,000 files
on 2 cores. The folder is kept under ``--dir`` (made once, reused).

Usage: python benchmarks/data_check.py [--count 10000] [--dir /tmp/artkit-check-bench]
       [--workers 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 128


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    low = Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8), "RGB")
    smooth = np.asarray(low.resize((SIDE, SIDE), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-12, 13, size=(SIDE, SIDE, 3), dtype=np.int16)
    return Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8), "RGB")


def make_corpus(root: Path, count: int) -> tuple[int, int]:
    """Write the folder (once); returns (exact copies, near copies) planted."""
    n_exact = n_near = count // 100
    n_orig = count - n_exact - n_near
    marker = root / f".made-{count}"
    if marker.exists():
        return n_exact, n_near
    root.mkdir(parents=True, exist_ok=True)

    def write(i: int) -> None:
        im = picture(i)
        if i % 2:
            im.save(root / f"img{i:05d}.jpg", quality=90)
        else:
            im.save(root / f"img{i:05d}.png", compress_level=1)

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(write, range(n_orig)))
    rng = np.random.default_rng(1)
    for k in range(n_exact):
        src = sorted(root.glob(f"img{k * 7:05d}.*"))[0]
        (root / f"zcopy{k:05d}{src.suffix}").write_bytes(src.read_bytes())
    for k in range(n_near):
        scale = rng.uniform(0.5, 0.9)
        side = round(SIDE * scale)
        im = picture(k * 11 + 3).resize((side, side), Image.Resampling.LANCZOS)
        im.save(root / f"znear{k:05d}.jpg", quality=70)
    marker.write_text("made\n")
    return n_exact, n_near


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/artkit-check-bench"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    root = args.dir / str(args.count)
    t0 = time.perf_counter()
    n_exact, n_near = make_corpus(root, args.count)
    print(f"corpus: {args.count} files in {root} ({time.perf_counter() - t0:.1f} s to make)")

    cmd = [sys.executable, "-m", "artkit", "data", "check", f"folder:path={root}", "--json"]
    cmd += ["--workers", str(args.workers)]
    times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
    report = json.loads(out)
    exact = {d for g in report["exact_duplicates"] for d in g["drop"]}
    near = {d["path"] for g in report["near_duplicates"] for d in g["drop"]}
    found_exact = sum(1 for p in exact if p.startswith("zcopy"))
    found_near = sum(1 for p in near if p.startswith("znear"))
    others = [d["path"] for d in report["drop"] if not d["path"].startswith(("zcopy", "znear"))]
    best = min(times)
    print(
        f"artkit data check: {best:.1f} s for {report['checked']} files "
        f"({report['checked'] / best:.0f} files/s, --workers {args.workers}, "
        f"{os.cpu_count()} CPUs on this machine; best of {args.rounds})"
    )
    print(f"found {found_exact}/{n_exact} exact copies, {found_near}/{n_near} near copies")
    print(f"other files flagged: {len(others)} {others[:5]}")


if __name__ == "__main__":
    main()
