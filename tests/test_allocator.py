"""artkit.allocator: the trainer's glibc malloc settings stop per-step page faults."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

# A few DCGAN generator training steps; prints the minor page faults of 20 of them.
STEPS = """
import resource, torch
from artkit.allocator import tune_allocator
print(tune_allocator())
from artkit.checkpoint import build_model
G = build_model("dcgan", {"resolution": 32, "channels": 3, "width": 0.25}).G
opt = torch.optim.Adam(G.parameters())
def step():
    G(torch.randn(64, G.z_dim)).square().mean().backward()
    opt.step()
    opt.zero_grad()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def run_steps(tune: str) -> tuple[str, int]:
    env = {**os.environ, "ARTKIT_TUNE_MALLOC": tune, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_tuned_allocator_keeps_activations_resident():
    tuned, tuned_faults = run_steps("1")
    untouched, default_faults = run_steps("0")
    assert (tuned, untouched) == ("True", "False")  # ARTKIT_TUNE_MALLOC=0 leaves malloc alone
    # glibc's defaults trim the freed activations and fault them back in every step
    # (about 250,000 faults in 20 steps here); tuned, a few hundred
    assert tuned_faults * 20 < default_faults, (tuned_faults, default_faults)


def test_tune_allocator_is_a_no_op_when_switched_off(monkeypatch):
    import artkit.allocator as allocator

    monkeypatch.setattr(allocator, "_tuned", None)
    monkeypatch.setenv("ARTKIT_TUNE_MALLOC", "off")
    assert allocator.tune_allocator() is False
    monkeypatch.setenv("ARTKIT_TUNE_MALLOC", "1")
    assert allocator.tune_allocator() is False  # decided once per process
