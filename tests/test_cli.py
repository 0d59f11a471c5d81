"""The CLI skeleton: version, help, listing, doctor, global options, errors."""

from __future__ import annotations

import json

import pytest

import artkit
from artkit.testing import run_cli
from tests.test_plugins import artkit_subprocess


def test_version_and_help():
    assert run_cli(["--version"]).stdout.strip() == f"artkit {artkit.__version__}"
    result = run_cli(["--help"])
    assert result.exit_code == 0
    for word in ("plugins", "list", "info", "doctor", "--device", "--precision", "--seed"):
        assert word in result.stdout


def test_python_dash_m_matches_console_script():
    result = artkit_subprocess("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"artkit {artkit.__version__}"


def test_list_json_lines_describe_params(toy_plugin):
    result = run_cli(["list", "models", "--json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    toy = next(r for r in rows if r["name"] == "toy")
    assert toy["plugin"] == "toy"
    assert {"name": "z_dim", "type": "int", "default": 8, "required": False} in toy["params"]


def test_list_table(toy_plugin):
    result = run_cli(["list", "models"])
    assert result.exit_code == 0 and "toy" in result.stdout and "z_dim=8" in result.stdout


def test_bad_list_kind_is_usage_error():
    result = run_cli(["list", "modles"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["train", "mlp-gan", "--steps", "abc"],
            "Invalid value for '--steps': Input should be a valid integer",
        ),
        (
            ["train", "mlp-gan", "--lr", "fast"],
            "Invalid value for '--lr': Input should be a valid number",
        ),
        (
            ["sample", "--seeds-x", "3"],
            "No such option: --seeds-x (Possible options: --seed, --seeds)",
        ),
        (["sample"], "Missing argument 'checkpoint'"),
        (["smaple"], "No such command 'smaple'. Did you mean 'sample'?"),
        (["--devic", "cpu", "info"], "No such option: --devic"),
        (["list", "modles"], "'modles' is not one of 'models', 'losses'"),
        (["post", "invert", "--quality", "1.5"], "Input should be a valid integer"),
    ],
)
def test_click_usage_errors_are_one_line_with_where_to_look(args, says):
    """Options parse without pydantic (artkit.cli.coercion) and fail like every artkit error."""
    result = artkit_subprocess(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("artkit: error: "), result.stderr
    assert says in lines[0] and "--help`)" in lines[0]


def test_plain_option_values_parse_as_typer_would(tmp_path):
    from artkit.cli.coercion import _bool, _float, _int

    assert [_int(v) for v in ("12", " 12 ", "1_000", "+5", "1.0", 7, 2.0, True)] == [
        12,
        12,
        1000,
        5,
        1,
        7,
        2,
        1,
    ]
    for bad in ("1.5", "1e3", "0x10", "", "abc", "١٢", 2.5):
        with pytest.raises(ValueError, match="valid integer"):
            _int(bad)
    assert [_float(v) for v in ("1e-3", " 2 ", "inf", 3)] == [0.001, 2.0, float("inf"), 3.0]
    with pytest.raises(ValueError, match="valid number"):
        _float("fast")
    assert [_bool(v) for v in ("Yes", "ON", "0", "f", "", 1)] == [
        True,
        True,
        False,
        False,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="valid boolean"):
        _bool("2")


def test_doctor_reports_torch_and_devices():
    result = run_cli(["doctor", "--json"])
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["torch"] and "cpu" in report["devices"]
    assert "fp32" in report["devices"]["cpu"]
    assert report["plugins"]["gan"] == "loaded"


def test_bad_device_is_one_line_usage_error():
    result = artkit_subprocess("--device", "tpu", "doctor")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("artkit: error: --device 'tpu'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_info_missing_file():
    result = artkit_subprocess("info", "nope.safetensors")
    assert result.returncode == 2 and "no such file" in result.stderr
