"""Accelerator and precision selection, seeding and determinism.

``--device auto`` picks cuda > mps > xpu > cpu; ``--precision auto`` picks the
fastest numerically safe autocast dtype for that device: bf16 on CUDA devices
that support it, fp16 (with a gradient scaler) on older CUDA, bf16 on CPUs with
native bf16 instructions (AVX512-BF16/AMX: ``benchmarks/train_gan.py`` measured
2.5x the fp32 loop on such a CPU) and fp32 elsewhere (emulated bf16 is slower).
Nothing here asserts CUDA. torch is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artkit.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps", "xpu")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")


def available_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append("mps")
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        found.append("xpu")
    return found


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda[:N]|mps|xpu`` into a torch.device that exists here."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        if hasattr(torch, "xpu") and torch.xpu.is_available():
            return torch.device("xpu")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UsageError(
            f"--device {spec!r} is not a device; use one of {', '.join(DEVICE_CHOICES)}"
        ) from None
    if device.type == "cpu":
        return device
    if spec not in available_devices() and f"{device.type}:0" not in available_devices():
        raise UsageError(
            f"--device {spec!r} is not available here; available: {', '.join(available_devices())}"
        )
    if (
        device.type == "cuda"
        and device.index is not None
        and device.index >= torch.cuda.device_count()
    ):
        raise UsageError(f"--device {spec!r}: only {torch.cuda.device_count()} CUDA devices")
    return device


@dataclass(frozen=True)
class Precision:
    """The autocast dtype to use (None = plain fp32) and whether a grad scaler is needed."""

    name: str
    dtype: torch.dtype | None
    needs_scaler: bool = False

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bf16 natively here (AVX512-BF16 or AMX), where it beats fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def supported_precisions(device: torch.device) -> list[str]:
    import torch

    out = ["fp32"]
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            out.append("bf16")
        out.append("fp16")
    elif device.type in ("cpu", "xpu"):
        out.append("bf16")
    elif device.type == "mps":
        out += ["fp16", "bf16"]
    return out


def resolve_precision(spec: str, device: torch.device) -> Precision:
    import torch

    spec = (spec or "auto").lower()
    if spec not in PRECISION_CHOICES:
        raise UsageError(f"--precision {spec!r}: use one of {', '.join(PRECISION_CHOICES)}")
    if spec == "auto":
        if device.type == "cuda":
            spec = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif device.type == "cpu" and cpu_has_native_bf16():
            spec = "bf16"
        else:
            spec = "fp32"
    if spec not in supported_precisions(device):
        raise UsageError(
            f"--precision {spec} is not supported on {device}; supported: {', '.join(supported_precisions(device))}"
        )
    if spec == "fp32":
        return Precision("fp32", None)
    if spec == "bf16":
        return Precision("bf16", torch.bfloat16)
    return Precision("fp16", torch.float16, needs_scaler=device.type == "cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy (if loaded) and torch on every device."""
    import sys

    import torch

    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator seeded with ``seed``; latents drawn from it are the same on every run.

    Latents are always drawn on the CPU and moved, so a seed gives the same
    image on any accelerator (up to the accelerator's arithmetic).
    """
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def set_deterministic(enabled: bool = True) -> None:
    """Prefer deterministic kernels (needed for exact resume on accelerators)."""
    import torch

    torch.backends.cudnn.benchmark = not enabled
    if enabled:
        torch.backends.cudnn.deterministic = True
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
