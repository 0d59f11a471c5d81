"""GAN training speed: artkit's trainer vs the textbook PyTorch loop, in one process.

The reference is the loop from pytorch/examples' DCGAN, written out below:
fp32, NCHW, eager, separate D calls on real and fake, BCE-with-logits, Adam,
and D's weight gradients computed (and thrown away) in the G step. Both sides
use the same networks (artkit_gan's DCGAN G and D at 64x64, batch 64; the reference
with stock PyTorch layers, see :func:`artkit.nn.small_conv.stock_layers`) on the
same in-memory data, and are timed the same way: images/s over intervals of
``--interval`` steps after ``--warmup`` steps, median over intervals, with the
two sides alternated so machine noise hits both.

``--model shapegan`` (or ``fastgan``) times what ``artkit demo`` trains instead:
that model's generator and fastgan's discriminator, whose D step also rebuilds the
real images from its 8x8 features (an L1 term), in the reference too, as FastGAN's
own training script does, with the same loop otherwise. ``--configs demo`` is the
demo's options (the recipe's: bf16, channels-last, ``--compile``, hinge loss).

Usage: python benchmarks/train_gan.py [--configs default,fp32,bf16,bf16-cl,compile] [--steps 20]
       [--device cuda] [--batch 64]
       python benchmarks/train_gan.py --model shapegan --resolution 32 --configs default,demo
Prints one line per configuration with its median images/s, the ratio and the
fraction of two roofs: the step's FLOPs per image (counted with torch's FlopCounterMode)
at the best bf16 matmul rate this machine reaches (fp32 where the CPU has no native
bf16), an upper bound no convolution network quite reaches, and at the rate of one
large 3x3 convolution, the roof issue #19 was written against. On a GPU
the reference moves each batch to the device as the textbook's DataLoader loop does,
and both sides are timed at synchronised interval boundaries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from typing import Any

import torch
import torch.nn.functional as F

from artkit.checkpoint import build_model
from artkit.nn.small_conv import stock_layers
from artkit.plugins import get_registry
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from artkit_gan.nn_networks import DCGANDiscriminator, DCGANGenerator

RES = 64


def data(res: int, count: int = 1024) -> torch.Tensor:
    source = (
        get_registry("datasets").get("shapes").create({"count": count}, resolution=res, channels=3)
    )
    return source


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def networks(model: str, res: int, width: float, norm: str) -> tuple[Any, Any, int, dict]:
    """(G, D, z_dim, spec) of ``model`` at ``res`` px in artkit's layers: the reference
    turns them back into stock ones."""
    from artkit_gan.configs import DCGANConfig

    if model == "dcgan":
        cfg = DCGANConfig(resolution=res, channels=3, d_norm=norm, width=width)
        spec = {"resolution": res, "channels": 3, "d_norm": norm, "width": width}
        return DCGANGenerator(cfg), DCGANDiscriminator(cfg), cfg.z_dim, spec
    spec = {"resolution": res, "channels": 3, "width": width}
    net = build_model(model, spec)
    return net.G, net.D, net.config.z_dim, spec


def reference(
    source,
    steps: int,
    warmup: int,
    interval: int,
    norm: str,
    batch: int,
    device: torch.device,
    res: int = RES,
    width: float = 1.0,
    model: str = "dcgan",
) -> list[float]:
    """The textbook loop; returns images/s per interval after warm-up."""
    torch.manual_seed(0)
    G, D, z_dim, _ = networks(model, res, width, norm)
    # plain PyTorch layers, as the textbook has them: artkit's networks compute their
    # small-map 4x4 convs as one matrix product on CPUs (artkit.nn.small_conv)
    G, D = stock_layers(G).to(device), stock_layers(D).to(device)
    # fastgan's discriminator also rebuilds the real images (FastGAN's D step)
    rebuilds = model != "dcgan"
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    images = torch.from_numpy(source.as_array()).permute(0, 3, 1, 2).contiguous()
    speeds, t = [], None
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            t = time.perf_counter()
        idx = torch.randint(0, len(images), (batch,))
        real = images[idx].to(device).float() / 127.5 - 1
        ones = torch.ones(batch, device=device)
        zeros = torch.zeros(batch, device=device)
        # D step
        D.zero_grad()
        if rebuilds:
            logits, recon = D(real, reconstruct=batch)
            target = (
                real
                if real.shape[-2:] == recon.shape[-2:]
                else F.interpolate(real, size=tuple(recon.shape[-2:]), mode="area")
            )
            err_real = F.binary_cross_entropy_with_logits(logits, ones)
            err_real = err_real + F.l1_loss(recon, target)
        else:
            err_real = F.binary_cross_entropy_with_logits(D(real), ones)
        err_real.backward()
        fake = G(torch.randn(batch, z_dim, device=device))
        err_fake = F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
        err_fake.backward()
        opt_d.step()
        # G step
        G.zero_grad()
        err_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        err_g.backward()
        opt_g.step()
        if step >= warmup and (step - warmup + 1) % interval == 0:
            sync(device)
            now = time.perf_counter()
            speeds.append(interval * batch / (now - t))
            t = now
    return speeds


def artkit_run(
    source,
    steps: int,
    warmup: int,
    interval: int,
    norm: str,
    batch: int,
    device: str,
    res: int = RES,
    width: float = 1.0,
    model: str = "dcgan",
    loss: str = "bce",
    **opts,
) -> list[float]:
    torch.manual_seed(0)
    *_, spec = networks(model, res, width, norm)
    net = build_model(model, spec)
    options = TrainOptions(
        steps=warmup + steps,
        batch_size=batch,
        device=device,
        sample_every=0,
        checkpoint_every=10**9,
        log_every=interval,
        **opts,
    )
    with tempfile.TemporaryDirectory() as tmp:
        loss_fn = get_registry("losses").get(loss).create()
        Trainer(net, source, options, tmp, quiet=True, loss=loss_fn).run()
        import json
        from pathlib import Path

        rows = [json.loads(line) for line in Path(f"{tmp}/metrics.jsonl").read_text().splitlines()]
    skip = warmup // interval
    return [r["images_per_s"] for r in rows[skip:]]


def flops_per_image(
    norm: str, batch: int, res: int = RES, width: float = 1.0, model: str = "dcgan"
) -> float:
    """FLOPs of one training step per image: D on real and fake, then G through D (counted:
    convolutions and matrix products, not a painter's elementwise work)."""
    from torch.utils.flop_counter import FlopCounterMode

    G, D, z_dim, _ = networks(model, res, width, norm)
    real = torch.rand(batch, 3, res, res) * 2 - 1

    def logits(x: torch.Tensor, **kw: Any) -> torch.Tensor:
        out = D(x, **kw)
        return out[0].mean() + out[1].mean() if isinstance(out, tuple) else out.mean()

    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            fake = G(torch.randn(batch, z_dim))
        both = torch.cat([real, fake])
        logits(both, **({"reconstruct": batch} if model != "dcgan" else {})).backward()
        D.requires_grad_(False)
        logits(G(torch.randn(batch, z_dim))).backward()
    return counter.get_total_flops() / batch


def flop_rate(op, flops: float, device: torch.device, seconds: float) -> float:
    """FLOP/s of ``op()`` (``flops`` per call): one warm-up, then at least 3 calls and ``seconds``."""
    op()
    sync(device)
    done, t = 0, time.perf_counter()
    while done < 3 or time.perf_counter() - t < seconds:
        op()
        done += 1
    sync(device)
    return done * flops / (time.perf_counter() - t)


def matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> float:
    """FLOP/s of a large square matmul in ``dtype``: what this machine's kernels can reach."""
    n = 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return flop_rate(lambda: a @ b, 2 * n**3, device, seconds)


def conv_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> float:
    """FLOP/s of a large 3x3 convolution (batch 64, 256 -> 256 channels at 32x32,
    channels-last) in ``dtype``, forward only: the rate issue #19's roof was quoted at."""
    x = torch.randn(64, 256, 32, 32, device=device, dtype=dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3, device=device, dtype=dtype)
    w = w.contiguous(memory_format=torch.channels_last)
    flops = 2 * x.numel() * w[0].numel()  # one multiply-add per weight per output pixel
    return flop_rate(lambda: F.conv2d(x, w, padding=1), flops, device, seconds)


CONFIGS = {
    "default": {},
    "fp32": {"precision": "fp32", "channels_last": False},
    "fp32-cl": {"precision": "fp32", "channels_last": True},
    "bf16": {"precision": "bf16", "channels_last": False},
    "bf16-cl": {"precision": "bf16", "channels_last": True},
    "compile": {"precision": "bf16", "channels_last": True, "compile": True},
    # what `artkit demo`'s recipe picks besides width and rates: hinge, --compile
    "demo": {"compile": True, "loss": "hinge"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="default,fp32,bf16,bf16-cl")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--interval", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of reference and artkit")
    ap.add_argument("--d-norm", default="batch", help="batch is the textbook DCGAN discriminator")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument(
        "--resolution", type=int, default=RES, help="32 with --width 0.25: the old demo's DCGAN"
    )
    ap.add_argument("--width", type=float, help="channel multiplier (dcgan 1, else 0.1875)")
    ap.add_argument(
        "--model", default="dcgan", help="dcgan, or shapegan / fastgan (what artkit demo trains)"
    )
    ap.add_argument("--device", default="cpu", help="cpu, cuda, ... (artkit's --device)")
    args = ap.parse_args()
    if args.width is None:  # the recipe's width for a few minutes (fastgan's D at 0.1875)
        args.width = 1.0 if args.model == "dcgan" else 0.1875
    from artkit.device import cpu_has_native_bf16, resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        # artkit's trainer keeps freed activations in the heap (artkit.allocator), a
        # process-wide setting: made here first, so that the reference has it in every
        # round, and the ratio is of the loops alone. ARTKIT_TUNE_MALLOC=0 runs both without.
        from artkit.allocator import tune_allocator

        tuned = tune_allocator()
    source = data(args.resolution)
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{torch.get_num_threads()} threads"
    )
    print(
        f"torch {torch.__version__}, {where}, {args.model} {args.resolution}x{args.resolution} "
        f"width {args.width:g}, batch {args.batch}"
        + (f", d_norm={args.d_norm}" if args.model == "dcgan" else "")
        + (f", malloc tuned: {'yes' if tuned else 'no'}" if device.type == "cpu" else ""),
        file=sys.stderr,
    )
    ref: list[float] = []
    results: dict[str, list[float]] = {name: [] for name in args.configs.split(",")}
    for _ in range(args.rounds):
        ref += reference(
            source, args.steps, args.warmup, args.interval, args.d_norm, args.batch, device,
            args.resolution, args.width, args.model,
        )  # fmt: skip
        for name in results:
            warm = args.warmup + (10 if CONFIGS[name].get("compile") else 0)
            results[name] += artkit_run(
                source,
                args.steps,
                warm,
                args.interval,
                args.d_norm,
                args.batch,
                str(device),
                args.resolution,
                args.width,
                args.model,
                **CONFIGS[name],
            )
    # the roof: this step's FLOPs at the best bf16 matmul rate the machine reaches
    flops = flops_per_image(args.d_norm, args.batch, args.resolution, args.width, args.model)
    dtype = torch.bfloat16 if device.type != "cpu" or cpu_has_native_bf16() else torch.float32
    peak, conv = matmul_peak(device, dtype), conv_peak(device, dtype)
    roof, conv_roof = peak / flops, conv / flops
    kind = str(dtype).removeprefix("torch.")
    print(
        f"roof: {flops / 1e9:.2f} GFLOP per image per step at {peak / 1e9:.0f} GFLOP/s "
        f"({kind} matmul peak) = {roof:.0f} images/s; at {conv / 1e9:.0f} GFLOP/s "
        f"({kind} 3x3 conv, the rate issue #19 quoted) = {conv_roof:.0f} images/s",
        file=sys.stderr,
    )
    base = statistics.median(ref)

    def row(label: str, speed: float) -> str:
        return (
            f"{label:34s} {speed:8.1f} images/s  {speed / base:.2f}x  "
            f"{speed / roof:.2f} of matmul roof  {speed / conv_roof:.2f} of conv roof"
        )

    print(row("reference (textbook fp32 loop)", base))
    for name, speeds in results.items():
        print(row("artkit " + name, statistics.median(speeds)))


if __name__ == "__main__":
    main()
