"""``artkit data check`` and ``folder:exclude=FILE``: find the files not worth training on."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from artkit import data_check
from artkit.errors import UsageError
from artkit.plugins import get_registry
from artkit.testing import run_cli
from tests.helpers import one_error_line


@pytest.fixture(autouse=True)
def cache_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def drawing(seed: int, size: int) -> Image.Image:
    """A distinct picture: a few random flat shapes on a random background."""
    r = random.Random(seed)
    im = Image.new("RGB", (size, size), tuple(r.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(r.randint(3, 6)):
        x0, y0 = r.randrange(size), r.randrange(size)
        box = (x0, y0, x0 + r.randrange(8, size), y0 + r.randrange(8, size))
        fill = tuple(r.randrange(256) for _ in range(3))
        (draw.ellipse if r.randrange(2) else draw.rectangle)(box, fill=fill)
    return im


#: what the corpus plants, and what check must say about it
UNREADABLE = {"empty.png", "notes.jpg", "trunc.png"}
EXACT = [["copy01.png", "orig01.png"], ["orig02.png", "sub/copy02.png"]]
NEAR = {"orig03.png": "near03.jpg", "orig04.png": "near04.jpg"}
TINY = {"tiny.png"}
KEPT = {f"orig{i:02d}.png" for i in range(12)} - {"orig01.png"} | {"copy01.png", "cmyk.jpg"}


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "art"
    (root / "sub").mkdir(parents=True)
    for i in range(12):
        drawing(i, 64 + 4 * i).save(root / f"orig{i:02d}.png")
    (root / "copy01.png").write_bytes((root / "orig01.png").read_bytes())
    (root / "sub" / "copy02.png").write_bytes((root / "orig02.png").read_bytes())
    # near-duplicates: resized and re-encoded as JPEG q=70
    lanczos = Image.Resampling.LANCZOS
    drawing(3, 76).resize((57, 57), lanczos).save(root / "near03.jpg", quality=70)
    drawing(4, 80).resize((44, 44), lanczos).save(root / "near04.jpg", quality=70)
    png = (root / "orig05.png").read_bytes()
    (root / "trunc.png").write_bytes(png[: len(png) // 2])
    (root / "notes.jpg").write_text("not a picture\n")
    (root / "empty.png").write_bytes(b"")
    drawing(20, 20).save(root / "tiny.png")
    drawing(21, 80).convert("CMYK").save(root / "cmyk.jpg", quality=95)
    return root


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}\0{st.st_mtime_ns}\0".encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def test_check_finds_every_planted_problem_and_nothing_else(corpus):
    before = tree_digest(corpus)
    result = run_cli(["data", "check", f"folder:path={corpus}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # one JSON object
    assert report["checked"] == 21 and report["min_side"] == 32
    assert {u["path"] for u in report["unreadable"]} == UNREADABLE
    reasons = {u["path"]: u["reason"] for u in report["unreadable"]}
    assert "0 bytes" in reasons["empty.png"] and "not an image" in reasons["notes.jpg"]
    assert "truncated" in reasons["trunc.png"]
    assert [[g["keep"], *g["drop"]] for g in report["exact_duplicates"]] == EXACT
    near = {g["keep"]: [d["path"] for d in g["drop"]] for g in report["near_duplicates"]}
    assert near == {keep: [copy] for keep, copy in NEAR.items()}
    assert all(d["distance"] <= 12 for g in report["near_duplicates"] for d in g["drop"])
    assert [(t["path"], t["width"]) for t in report["tiny"]] == [("tiny.png", 20)]
    assert report["odd_modes"] == [{"path": "cmyk.jpg", "mode": "CMYK"}]
    dropped = {d["path"] for d in report["drop"]}
    assert dropped == UNREADABLE | TINY | {"orig01.png", "sub/copy02.png"} | set(NEAR.values())

    text = run_cli(["data", "check", f"folder:path={corpus}", "--show", "1"])
    assert text.exit_code == 0, text.output
    assert "  copy01.png = orig01.png" in text.stdout and "  ... and 1 more" in text.stdout
    assert "  cmyk.jpg: CMYK" in text.stdout and "to drop           8 files" in text.stdout
    assert tree_digest(corpus) == before  # read only


def test_written_exclude_list_is_what_training_leaves_out(corpus, tmp_path):
    listing = tmp_path / "exclude.txt"
    result = run_cli(["data", "check", f"folder:path={corpus}", "--write-exclude", str(listing)])
    assert result.exit_code == 0, result.output
    lines = listing.read_text().splitlines()
    assert lines[0].startswith(data_check.EXCLUDE_HEADER)
    paths = [ln for ln in lines if ln and not ln.startswith("#")]
    assert len(paths) == 8 and "# exact duplicate of copy01.png" in lines
    assert lines[lines.index("near04.jpg") - 1].startswith("# near-duplicate of orig04.png")

    entry = get_registry("datasets").get("folder")
    plain = entry.create({"path": str(corpus)}, resolution=32, channels=3)
    kept = entry.create({"path": str(corpus), "exclude": str(listing)}, resolution=32, channels=3)
    assert set(kept.files) == KEPT and not kept.skipped and len(kept) == len(KEPT)
    assert set(kept.excluded) == set(paths) and kept.fingerprint() != plain.fingerprint()

    spec = f"folder:path={corpus},exclude={listing}"
    # checking with the list: nothing left to drop; writing again keeps what it listed
    again = run_cli(["data", "check", spec, "--json", "--write-exclude", str(listing)])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["excluded"] == 8 and report["checked"] == 13 and report["drop"] == []
    assert sorted(data_check.read_exclude(listing)) == sorted(paths)

    run = tmp_path / "run"
    trained = run_cli(
        ["--device", "cpu", "-q", "train", "dcgan:resolution=32,width=0.125", "--data", spec,
         "--steps", "2", "-b", "4", "--sample-every", "0", "-o", str(run)]
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "skipped" not in trained.stderr  # the unreadable files never reached the loader
    from artkit.checkpoint import read_header

    header = read_header(run / "weights.safetensors")
    assert header.step == 2 and header.metadata["artkit.dataset"] == kept.fingerprint()


def test_exclude_entries_outside_the_folder_and_oversized_lists_are_one_line(corpus, tmp_path):
    for bad in ("../other/a.png", "/etc/hostname", "sub/../../a.png"):
        listing = tmp_path / "bad.txt"
        listing.write_text(f"# fine\norig00.png\n{bad}\n")
        result = run_cli(["data", "info", f"folder:path={corpus},exclude={listing}"])
        assert result.exit_code == 2
        line = one_error_line(result.stderr)
        assert "line 3" in line and "outside the folder" in line
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(data_check.MAX_EXCLUDE_BYTES + 1)  # sparse: no 16 MiB written
    with pytest.raises(UsageError, match="at most"):
        data_check.read_exclude(big)
    missing = run_cli(["data", "check", f"folder:path={corpus},exclude={tmp_path / 'no.txt'}"])
    assert missing.exit_code == 2 and "does not exist" in one_error_line(missing.stderr)
    # "./a", "a//b" and duplicates normalise; a name that matches no file changes the key
    listing = tmp_path / "ok.txt"
    listing.write_text("./orig00.png\nsub//copy02.png\norig00.png\n\n")
    assert data_check.read_exclude(listing) == ["orig00.png", "sub/copy02.png"]
    key = data_check.exclude_digest(data_check.read_exclude(listing))
    assert key != data_check.exclude_digest(["orig00.png", "sub/copy02.png", "gone.png"])


def test_never_overwrites_a_file_artkit_did_not_write(corpus, tmp_path):
    theirs = tmp_path / "notes.txt"
    theirs.write_text("my own notes\n")
    result = run_cli(["data", "check", f"folder:path={corpus}", "--write-exclude", str(theirs)])
    assert result.exit_code == 2
    assert "not written by artkit" in one_error_line(result.stderr)
    assert theirs.read_text() == "my own notes\n"
    generated = run_cli(["data", "check", "shapes:count=4", "--write-exclude", str(tmp_path / "x")])
    assert generated.exit_code == 2 and "folder datasets" in one_error_line(generated.stderr)
    assert not (tmp_path / "x").exists()


def test_generated_datasets_get_the_duplicate_checks(tmp_path):
    result = run_cli(["data", "check", "shapes:count=6", "-r", "32", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["checks"] == ["exact", "near"] and report["checked"] == 6
    assert report["drop"] == []  # six different seeded pictures
    # decoded items: a repeat is exact, a slightly noisy repeat is near
    rng = np.random.default_rng(0)
    items = [np.asarray(drawing(s, 32)) for s in range(4)]
    noisy = np.clip(items[1] + rng.integers(-6, 7, items[1].shape), 0, 255).astype(np.uint8)
    report = data_check.check_arrays([*items, items[0], noisy], dataset="arrays")
    assert report.exact == [["#0", "#4"]] and [p for p, _ in report.near[0]] == ["#1", "#5"]
    assert list(report.drops()) == ["#4", "#5"]


def test_near_pairs_match_brute_force_across_blocks(monkeypatch):
    monkeypatch.setattr(data_check, "PAIR_BLOCK", 7)
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**63, size=20, dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, size=20).astype(np.uint64)
    hashes = np.concatenate([base, base ^ flips, base[:5]])  # distances 0, 1 and far
    i, j, d = data_check.near_pairs(hashes, 3)
    found = sorted(zip(i.tolist(), j.tolist(), d.tolist(), strict=True))
    expected = [
        (a, b, bin(int(hashes[a]) ^ int(hashes[b])).count("1"))
        for a in range(len(hashes))
        for b in range(a + 1, len(hashes))
        if bin(int(hashes[a]) ^ int(hashes[b])).count("1") <= 3
    ]
    assert found == expected and len(found) >= 20 + 5 + 5


def test_the_cli_default_threshold_is_the_checkers():
    # written out in artkit.cli.data so that `artkit --help` need not import the checker
    from artkit.cli.data import DUPLICATE_THRESHOLD
    from artkit.data_check import DEFAULT_THRESHOLD

    assert DUPLICATE_THRESHOLD == DEFAULT_THRESHOLD
