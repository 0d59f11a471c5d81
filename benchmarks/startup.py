"""Start-up time of the everyday commands, against bare Python and `import torch`.

Each command runs --repeats times in a fresh interpreter; medians are printed
with the ratio to `python -c "import torch"` (what a command that imported
torch at start-up would cost at least). Target: `artkit --help` under 0.5 s.

Usage: python benchmarks/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_time(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        import torch

        from artkit.checkpoint import save_tensors

        ckpt = save_tensors(
            Path(tmp) / "w.safetensors", {"G.w": torch.ones(64, 64)}, {"artkit.model": "dcgan"}
        )
        cases = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import torch'": [py, "-c", "import torch"],
            "artkit --help": [py, "-m", "artkit", "--help"],
            "artkit plugins": [py, "-m", "artkit", "plugins"],
            "artkit list models": [py, "-m", "artkit", "list", "models"],
            "artkit info CKPT": [py, "-m", "artkit", "info", str(ckpt)],
        }
        results = {name: median_time(argv, args.repeats) for name, argv in cases.items()}
    torch_t = results["python -c 'import torch'"]
    for name, t in results.items():
        print(f"{name:28s} {t * 1000:7.0f} ms   {t / torch_t:5.2f}x import torch")


if __name__ == "__main__":
    main()
