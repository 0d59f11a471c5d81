"""Gatys style transfer: seconds per optimisation step, a default 512 image, tiled 2048 memory.

1. **Seconds per step** at 256 and 512 px (one L-BFGS function evaluation: forward,
   normalised losses, backward) for the ``random-multiscale`` extractor (the offline
   default) and for VGG19 (random weights: same cost as ImageNet ones). Each is
   compared with a plain-PyTorch reference on the same extractor: textbook Gram /
   MSE losses and ``torch.optim.LBFGS`` with no artkit code around it. Target:
   artkit/reference <= 1.1 (the wrappers cost nothing that matters).
2. **Wall time to a finished 512 image with default settings**: the real command,
   ``artkit stylize sample:astronaut -s sample:immunohistochemistry`` (256 then 512,
   200 L-BFGS evaluations each), in a subprocess.
3. **Peak RSS of a tiled 2048 image** (``--size 2048 --steps 2``: 256, 512, 1024 whole,
   2048 in 512-px tiles): the process's maximum resident set size, to show memory
   stays bounded by the tile size.

Usage: python benchmarks/gatys.py [--steps 6] [--rounds 3] [--threads N] [--skip-full] [--skip-2048]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from artkit_style.nn_extractors import RandomMultiscaleExtractor, VGGExtractor, vgg_architecture
from artkit_style.torch_gatys import GatysOptions, gatys


def images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    low = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    content = F.interpolate(low, size=(size, size), mode="bicubic").clamp(-1, 1)
    style = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    return content, style


def artkit_step_time(extractor, size: int, steps: int) -> float:
    content, style = images(size)
    stamps: list[float] = []
    opts = GatysOptions(size=size, steps=steps + 2, multiscale=False)
    gatys(content, [style], None, extractor, opts, lambda *a: stamps.append(time.perf_counter()))
    return (stamps[-1] - stamps[1]) / (len(stamps) - 2)  # skip the first (warm-up) steps


def reference_step_time(extractor, size: int, steps: int) -> float:
    """Textbook Gatys: un-normalised Gram MSE + content MSE, LBFGS, strong Wolfe."""
    content, style = images(size)
    c_layers, s_layers = list(extractor.content_layers), list(extractor.style_layers)

    def grams(feats):
        out = {}
        for name in s_layers:
            _, c, h, w = feats[name].shape
            f = feats[name].reshape(c, h * w)
            out[name] = f @ f.t() / (c * h * w)
        return out

    with torch.no_grad():
        targets_s = grams(extractor(style, s_layers))
        targets_c = extractor(content, c_layers)
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x], max_iter=steps + 2, max_eval=steps + 3, tolerance_grad=0.0, tolerance_change=0.0,
        history_size=50, line_search_fn="strong_wolfe",
    )  # fmt: skip
    stamps: list[float] = []

    def closure():
        opt.zero_grad()
        feats = extractor(x, c_layers + s_layers)
        g = grams(feats)
        loss = sum(F.mse_loss(feats[n], targets_c[n]) for n in c_layers)
        loss = loss + 1e3 * sum(F.mse_loss(g[n], targets_s[n]) for n in s_layers)
        loss.backward()
        stamps.append(time.perf_counter())
        return loss

    opt.step(closure)
    stamps = stamps[: steps + 2]
    return (stamps[-1] - stamps[1]) / (len(stamps) - 2)


def run_command(args: list[str]) -> tuple[float, float]:
    """Run ``artkit ARGS``; returns (seconds, that child's peak RSS in MiB, from wait4)."""
    t = time.perf_counter()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    child = subprocess.Popen([sys.executable, "-m", "artkit", "-q", *args], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"artkit {' '.join(args)} failed with exit code {child.returncode}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (best of)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--skip-full", action="store_true", help="skip the default 512 image")
    parser.add_argument("--skip-2048", action="store_true", help="skip the tiled 2048 run")
    parser.add_argument("--no-vgg", action="store_true", help="skip the VGG19 timings")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("ARTKIT_OFFLINE", "1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")

    extractors = [("random-multiscale", RandomMultiscaleExtractor())]
    if not args.no_vgg:
        torch.manual_seed(0)
        state = {f"features.{k}": v for k, v in vgg_architecture("vgg19").state_dict().items()}
        extractors.append(("vgg19", VGGExtractor("vgg19", state)))
    print(f"{'extractor':<18} {'size':>5} {'artkit s/step':>14} {'reference':>10} {'ratio':>6}")
    for name, extractor in extractors:
        for size in (256, 512):
            # interleaved rounds, best of each: other jobs on a shared machine add noise
            ours, ref = float("inf"), float("inf")
            for _ in range(args.rounds):
                ours = min(ours, artkit_step_time(extractor, size, args.steps))
                ref = min(ref, reference_step_time(extractor, size, args.steps))
            print(f"{name:<18} {size:>5} {ours:>14.3f} {ref:>10.3f} {ours / ref:>6.2f}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_full:
            seconds, rss = run_command(
                ["stylize", "sample:astronaut", "-s", "sample:immunohistochemistry", "-o", tmp]
            )
            print(
                f"default 512 image (256 -> 512, 200 steps each): {seconds:.1f} s wall, peak RSS {rss:.0f} MiB"
            )
        if not args.skip_2048:
            seconds, rss = run_command(
                ["stylize", "sample:hubble_deep_field", "-s", "sample:immunohistochemistry",
                 "--size", "2048", "--steps", "2", "-o", tmp]
            )  # fmt: skip
            print(
                f"tiled 2048 image (--steps 2; 2048 stage in 512 px tiles): {seconds:.1f} s wall, peak RSS {rss:.0f} MiB"
            )


if __name__ == "__main__":
    main()
