"""Checkpoints: bit-exact round trip, header without torch, and every bad file refused in one line."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest
import torch

from artkit.checkpoint import build_model, load_model, read_header, save_model, save_tensors
from artkit.errors import CheckpointError
from tests.test_plugins import artkit_subprocess


@pytest.fixture
def toy_file(toy_plugin, tmp_path):
    torch.manual_seed(0)
    model = build_model("toy", {"z_dim": "6"})
    model.G[1].running_mean.add_(torch.randn(32))  # buffers must round-trip too
    path = save_model(model, tmp_path / "toy.safetensors", step=123, dataset="abc123")
    return model, path


def test_round_trip_is_bit_exact(toy_file):
    model, path = toy_file
    loaded = load_model(path)
    assert loaded.config.z_dim == 6 and loaded.registry_name == "toy"
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    header = read_header(path)
    assert header.model == "toy" and header.step == 123
    assert header.metadata["artkit.dataset"] == "abc123"
    assert header.metadata["artkit.plugin"] == "toy"
    assert header.metadata["format"] == "pt"
    assert header.config == {"z_dim": 6, "resolution": 8, "channels": 3}
    assert header.parameter_count == sum(t.numel() for t in original.values())


def test_header_reads_without_torch(toy_file):
    _, path = toy_file
    code = (
        "import sys; from artkit.checkpoint import read_header; "
        f"h = read_header({str(path)!r}); print(h.model, h.step, len(h.tensors)); "
        "assert 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["toy", "123", str(len(read_header(path).tensors))]


def test_nan_weights_are_refused_and_old_file_kept(toy_file):
    model, path = toy_file
    before = path.read_bytes()
    with torch.no_grad():
        model.G[0].weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        save_model(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["toy.safetensors"]


def test_shared_and_strided_tensors_save(tmp_path):
    base = torch.arange(12.0).view(3, 4)
    path = save_tensors(tmp_path / "t.safetensors", {"a": base, "b": base.t(), "c": base[1]})
    assert set(read_header(path).tensors) == {"a", "b", "c"}


# -- bad files ------------------------------------------------------------------
def _bad_files(tmp_path, good_path):
    bad = {}
    p = tmp_path / "random.safetensors"
    p.write_bytes(os.urandom(64))
    bad["not safetensors"] = (p, "not a safetensors file")
    p = tmp_path / "text.safetensors"
    p.write_bytes(struct.pack("<Q", 5) + b"hello")
    bad["not json"] = (p, "not a safetensors file")
    data = good_path.read_bytes()
    p = tmp_path / "truncated.safetensors"
    p.write_bytes(data[: len(data) - 100])
    bad["truncated"] = (p, "truncated")
    p = tmp_path / "cut-header.safetensors"
    p.write_bytes(data[:20])
    bad["cut header"] = (p, "truncated")
    p = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, p)
    bad["pickle"] = (p, "refusing to load a pickled PyTorch file")
    p = tmp_path / "disguised.safetensors"
    torch.save({"w": torch.zeros(2)}, p)
    bad["pickle disguised"] = (p, "refusing to load a pickled PyTorch file")
    p = tmp_path / "unknown-model.safetensors"
    save_tensors(p, {"x": torch.zeros(2)}, {"artkit.model": "no-such-model", "artkit.config": "{}"})
    bad["unknown model"] = (p, "model 'no-such-model' is not available")
    p = tmp_path / "mismatch.safetensors"
    model = build_model("toy", {"z_dim": 6})
    tensors = model.state_dict()
    tensors["G.0.weight"] = torch.zeros(32, 7)
    save_tensors(p, tensors, {"artkit.model": "toy", "artkit.config": json.dumps({"z_dim": 6})})
    bad["shape mismatch"] = (p, r"shape mismatch .* first: G\.0\.weight \(32, 7\) vs \(32, 6\)")
    return bad


def test_every_bad_file_is_a_one_line_checkpoint_error(toy_file, tmp_path):
    _, good = toy_file
    for label, (path, pattern) in _bad_files(tmp_path, good).items():
        with pytest.raises(CheckpointError, match=pattern) as exc:
            load_model(path)
        assert "\n" not in str(exc.value), label


def test_cli_info_on_bad_files_exits_1_without_traceback(toy_file, tmp_path):
    _, good = toy_file
    bad = _bad_files(tmp_path, good)
    for label in ("not safetensors", "truncated", "pickle", "pickle disguised"):
        path, _ = bad[label]
        result = artkit_subprocess("info", str(path))
        assert result.returncode == 1, (label, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("artkit: error:"), (label, result.stderr)


def test_cli_info_reads_checkpoint(toy_file):
    _, path = toy_file
    result = artkit_subprocess("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "toy" and data["step"] == 123
    assert data["networks"]["G"] > 0 and data["networks"]["D"] > 0
    assert len(data["sha256"]) == 64


def test_header_length_with_pickle_like_low_byte_is_not_refused(tmp_path):
    """A safetensors header whose length is 0x80 mod 256 starts with byte 0x80, like a pickle."""
    for pad in range(0, 300):
        path = save_tensors(
            tmp_path / "w.safetensors", {"w": torch.zeros(2)}, {"artkit.pad": "x" * pad}
        )
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("could not produce a header length with low byte 0x80")
    header = read_header(path)
    assert header.metadata["artkit.pad"].startswith("x")
