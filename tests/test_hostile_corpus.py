"""Every hostile input of :mod:`tests.hostile_corpus` through every command that reads its kind.

The corpus runs once, in a subprocess (one torch import for all ~200 cases); each
case is then checked on its own: exit 1 or 2 with exactly one ``artkit: error:``
line and no traceback (or, for the few pairs in ``MAY_SUCCEED``, a clean exit 0),
under 5 s, under 500 MB of added peak memory, and no file outside its output folder
created, changed or removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_corpus import MAY_SUCCEED, case_ids

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("corpus")
    env = {
        **os.environ,
        "ARTKIT_CACHE_DIR": str(tmp_path_factory.mktemp("corpus-cache")),
        "OMP_NUM_THREADS": "1",
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile_corpus", str(root / "tree")],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in records}


@pytest.mark.parametrize("case", case_ids())
def test_hostile_input(case, corpus_results):
    r = corpus_results[case]
    _, name, command = case.split("/")
    assert not r["traceback"], r["stderr_tail"]
    if (command, name) in MAY_SUCCEED and r["exit_code"] == 0:
        assert not r["errors"]
    else:
        assert r["exit_code"] in (1, 2), r
        assert len(r["errors"]) == 1, r["stderr_tail"]
    assert r["seconds"] < 5, r
    if r["added_mb"] is not None:  # None: this kernel cannot reset the peak (not Linux)
        assert r["added_mb"] < 500, r
    assert r["changed_outside"] == [], r
