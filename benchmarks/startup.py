"""Start-up time of the everyday commands, against bare Python, `import typer` and `import torch`.

Each command runs --repeats times in a fresh interpreter, through the installed
`artkit` console script (what a user types); medians are printed beside
`python -c pass` (the interpreter alone) and `python -c "import typer"` (the floor
for any typer CLI). Target: each artkit command under 0.25 s. An editable install
(`pip install -e`) adds its import hook to every start (about 20 ms here).

The commands run as they do for a user: with Python's bytecode cache (``__pycache__``,
written by a warm-up round first; ``pip install`` writes it for a wheel). A shell
with ``PYTHONDONTWRITEBYTECODE=1`` (this project's sandbox sets it) would compile
every artkit module on every start, 60-130 ms more here; ``--no-bytecode`` measures
that (after removing the ``__pycache__`` folders: an existing cache is still read).

Usage: python benchmarks/startup.py [--repeats 7] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.25  # seconds, each everyday command


def run_once(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument(
        "--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as it is set"
    )
    args = ap.parse_args()
    env = dict(os.environ)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        import torch

        from artkit.checkpoint import save_tensors

        ckpt = save_tensors(
            Path(tmp) / "w.safetensors", {"G.w": torch.ones(64, 64)}, {"artkit.model": "dcgan"}
        )
        from PIL import Image

        image = Path(tmp) / "one.png"
        Image.new("RGB", (256, 256), "teal").save(image)
        script = Path(py).with_name("artkit")
        artkit = [str(script)] if script.exists() else [py, "-m", "artkit"]
        floors = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import typer'": [py, "-c", "import typer"],
            "python -c 'import torch'": [py, "-c", "import torch"],
        }
        commands = {
            "artkit --help": [*artkit, "--help"],
            "artkit post sharpen -i IMG": [
                *artkit,
                "post",
                "sharpen",
                "-i",
                str(image),
                "-o",
                str(Path(tmp) / "out"),
            ],
            "artkit list models": [*artkit, "list", "models"],
            "artkit info CKPT": [*artkit, "info", str(ckpt)],
            "artkit plugins": [*artkit, "plugins"],
        }
        results = {}
        for argv in commands.values():  # warm-up: the bytecode cache, the OS file cache
            run_once(argv, env)
        for _ in range(args.repeats):  # alternated, so machine noise hits every command alike
            for name, argv in {**floors, **commands}.items():
                results.setdefault(name, []).append(run_once(argv, env))
    cache = "without" if env.get("PYTHONDONTWRITEBYTECODE") else "with"
    print(f"medians of {args.repeats}, {cache} the bytecode cache")
    for name, times in results.items():
        t = statistics.median(times)
        verdict = "" if name in floors else ("  ok" if t < TARGET else f"  over {TARGET} s")
        print(f"{name:30s} {t * 1000:7.0f} ms{verdict}")


if __name__ == "__main__":
    main()
