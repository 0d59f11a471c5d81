"""Assertions and readers shared by the training and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from artkit.checkpoint import load_tensors


def metrics(run: Path) -> list[dict]:
    """The rows of a run folder's metrics.jsonl."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_same_tensors(a: Path, b: Path) -> None:
    """Two safetensors files hold the same names and bit-identical tensors."""
    ta, _ = load_tensors(a)
    tb, _ = load_tensors(b)
    assert sorted(ta) == sorted(tb)
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{len(different)} tensors differ, first: {different[:3]}"


def one_error_line(stderr: str) -> str:
    """stderr holds exactly one `artkit: error:` line and no traceback; return that line."""
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("artkit: error:")]
    assert len(errors) == 1, stderr
    return errors[0]
