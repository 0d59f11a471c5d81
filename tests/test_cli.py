"""The CLI skeleton: version, help, listing, doctor, global options, errors."""

from __future__ import annotations

import json

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
