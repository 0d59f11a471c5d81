"""Checkpoints that survive upgrades: every released schema loads or upgrades, a newer one is one line.

``tests/data/checkpoints/`` keeps a tiny real file of each older schema, written by
the artkit that wrote that schema (see the README there); the tests read them as a
user's old runs would be read.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import (
    build_model,
    load_model,
    load_tensors,
    read_header,
    save_model,
    save_tensors,
    sha256_file,
)
from artkit.errors import CheckpointError
from artkit.schema import HISTORY, SCHEMA, SCHEMA_KEY, CheckpointMigrationWarning
from artkit.testing import run_cli
from tests.helpers import one_error_line

FIXTURES = Path(__file__).parent / "data" / "checkpoints"
OLD = sorted(FIXTURES.glob("schema*-*.safetensors"))


def cli(*args):
    return run_cli(["--device", "cpu", *map(str, args)])


def error(result, contains: str) -> str:
    """The one error line of a failed command, which must mention ``contains``."""
    assert result.exit_code in (1, 2), result.stdout
    line = one_error_line(result.stderr)
    assert contains in line, line
    return line


def pixels(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]


def test_a_file_of_every_older_schema_is_kept():
    kept = {int(re.match(r"schema(\d+)-", p.name).group(1)) for p in OLD}
    assert kept == set(range(1, SCHEMA)), "keep a tiny checkpoint of each released schema"
    assert set(HISTORY) == set(range(1, SCHEMA + 1)), "say what each schema is in HISTORY"


def test_new_files_carry_the_current_schema(tmp_path):
    model = build_model("dcgan", {"resolution": 32, "width": 0.05, "z_dim": 8})
    path = save_model(model, tmp_path / "new.safetensors")
    assert read_header(path).metadata[SCHEMA_KEY] == str(SCHEMA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a current file loads without a word
        load_model(path)


@pytest.mark.parametrize("old", OLD, ids=lambda p: p.stem)
def test_an_old_schema_loads_with_one_warning_and_upgrades_to_the_same_numbers(old, tmp_path):
    schema = int(re.match(r"schema(\d+)-", old.name).group(1))
    info = cli("info", old, "--json")
    assert info.exit_code == 0, info.stderr
    record = json.loads(info.stdout)
    assert record["schema"] == schema and record["schema_note"].startswith("older")

    with pytest.warns(CheckpointMigrationWarning, match="checkpoint upgrade"):
        before = load_model(old)

    sampled = cli("sample", old, "-n", "3", "--seed", "5", "-o", tmp_path / "old")
    assert sampled.exit_code == 0, sampled.stderr
    warning_lines = [line for line in sampled.stderr.splitlines() if "warning" in line]
    assert len(warning_lines) == 1 and "loaded through a migration" in warning_lines[0]
    assert "checkpoint upgrade" in warning_lines[0]

    source_bytes = old.read_bytes()
    target = tmp_path / "up.safetensors"
    up = cli("checkpoint", "upgrade", old, "-o", target)
    assert up.exit_code == 0, up.stderr
    assert up.stdout == f"{target}\n"
    assert old.read_bytes() == source_bytes  # never in place

    header = read_header(target)
    assert header.metadata[SCHEMA_KEY] == str(SCHEMA)
    assert header.step == read_header(old).step
    assert header.metadata["artkit.dataset"] == read_header(old).metadata["artkit.dataset"]
    origin = json.loads(header.metadata["artkit.upgraded_from"])
    assert origin == {"schema": schema, "artkit_version": "0.1.0", "sha256": sha256_file(old)}
    # every option spelled out, every old tensor the same numbers
    assert set(build_model(header.model).config_dict()) == set(header.config)
    old_tensors, _ = load_tensors(old)
    new_tensors, _ = load_tensors(target)
    assert set(old_tensors) <= set(new_tensors)
    for key, value in old_tensors.items():
        assert torch.equal(value, new_tensors[key]), key
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = load_model(target)
    for key, value in before.state_dict().items():
        assert torch.equal(value, after.state_dict()[key]), key

    sampled = cli("sample", target, "-n", "3", "--seed", "5", "-o", tmp_path / "new")
    assert sampled.exit_code == 0 and "warning" not in sampled.stderr, sampled.stderr
    for a, b in zip(pixels(tmp_path / "old"), pixels(tmp_path / "new"), strict=True):
        assert np.array_equal(a, b)

    again = cli("checkpoint", "upgrade", target)
    assert again.exit_code == 0 and "already schema" in again.stderr
    assert again.stdout == f"{target}\n"


def test_upgrade_never_overwrites_and_defaults_beside_the_source(tmp_path):
    old = tmp_path / "old.safetensors"
    old.write_bytes(OLD[0].read_bytes())
    taken = tmp_path / "taken.safetensors"
    taken.write_bytes(b"someone else's file")
    result = cli("checkpoint", "upgrade", old, "-o", taken)
    error(result, "already exists")
    assert taken.read_bytes() == b"someone else's file"
    same = cli("checkpoint", "upgrade", old, "-o", old)
    assert same.exit_code != 0 and old.read_bytes() == OLD[0].read_bytes()
    result = cli("checkpoint", "upgrade", old)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / f'old.schema{SCHEMA}.safetensors'}\n"


def _with_metadata(tmp_path: Path, **changes: str) -> Path:
    tensors, meta = load_tensors(OLD[0])
    path = tmp_path / "changed.safetensors"
    save_tensors(path, tensors, {**meta, **changes})
    return path


def test_a_newer_schema_is_one_line_naming_the_version_that_wrote_it(tmp_path):
    future = _with_metadata(tmp_path, **{SCHEMA_KEY: str(SCHEMA + 1), "artkit.version": "9.1.0"})
    for args in (
        ("sample", future, "-n", "1", "-o", tmp_path / "s"),
        ("checkpoint", "upgrade", future),
    ):
        result = cli(*args)
        message = error(result, f"schema {SCHEMA + 1}")
        assert "artkit 9.1.0" in message and "upgrade artkit" in message
    with pytest.raises(CheckpointError, match=r"9\.1\.0"):
        load_tensors(future)
    info = cli("info", future, "--json")
    assert info.exit_code == 0
    assert json.loads(info.stdout)["schema_note"].startswith("newer than this artkit reads")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("value", ["two", "0", "-1", "1e9", "99999999999"])
def test_a_garbled_schema_is_one_line(tmp_path, value):
    bad = _with_metadata(tmp_path, **{SCHEMA_KEY: value})
    error(cli("info", bad), "schema")
    error(cli("sample", bad, "-n", "1", "-o", tmp_path / "s"), "schema")
