"""``benchmarks/quality.py --quick`` runs end to end: both recipes train, sample and get scored.

The benchmark itself runs for minutes per cell; this only keeps it working.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quality_benchmark_quick(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--quick", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {r["recipe"] for r in rows} == {"textbook", "artkit"}
    # shapes has labels: both feature sets score both recipes
    assert {r["features"] for r in rows} == {"random-conv", "classifier"} and len(rows) == 4
    for row in rows:
        assert row["fd"] > 0 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
        assert 0 <= row["coverage"] <= 1
        assert row["steps"] >= 1
        assert (
            len(list((tmp_path / f"shapes-0.05-{row['recipe']}" / "samples").glob("*.png"))) == 64
        )
    table = result.stdout.splitlines()
    assert table[0].split()[:4] == ["data", "min", "features", "recipe"] and len(table) == 5
