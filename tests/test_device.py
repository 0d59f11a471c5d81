"""Device and precision selection: never asserts CUDA, errors are one line."""

from __future__ import annotations

import pytest
import torch

from artkit.device import (
    cpu_has_native_bf16,
    make_generator,
    resolve_device,
    resolve_precision,
    supported_precisions,
)
from artkit.errors import UsageError


def test_auto_and_cpu():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps", "xpu")


@pytest.mark.parametrize("spec", ["tpu", "cuda:99", "gpu0"])
def test_bad_or_missing_devices_are_usage_errors(spec):
    if spec == "cuda:99" and torch.cuda.device_count() > 99:
        pytest.skip("absurd machine")
    with pytest.raises(UsageError) as exc:
        resolve_device(spec)
    assert "\n" not in str(exc.value)


def test_precision_on_cpu():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu).dtype is None
    assert resolve_precision("bf16", cpu).dtype is torch.bfloat16
    expected = torch.bfloat16 if cpu_has_native_bf16() else None
    assert resolve_precision("auto", cpu).dtype is expected
    assert "fp16" not in supported_precisions(cpu)
    with pytest.raises(UsageError, match="not supported on cpu"):
        resolve_precision("fp16", cpu)
    with pytest.raises(UsageError, match="use one of"):
        resolve_precision("int8", cpu)


def test_bf16_autocast_context_runs():
    cpu = torch.device("cpu")
    with resolve_precision("bf16", cpu).autocast(cpu):
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype is torch.bfloat16


def test_generator_is_deterministic():
    a = torch.randn(3, generator=make_generator(42))
    b = torch.randn(3, generator=make_generator(42))
    assert torch.equal(a, b)
