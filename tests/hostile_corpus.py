"""The hostile-input corpus: broken or malicious files made in code, and the commands that read them.

Each input kind (images, GIFs, IDX files, safetensors headers, series specs, stdin
records, provenance) is built by a function here; :data:`CASES` pairs every input with
every command that reads that kind. ``python -m tests.hostile_corpus ROOT`` builds the
corpus under ROOT and runs every case in this one process (torch imported once), each
with its own output folder as the working directory, and prints one JSON line per
case: exit code, the ``artkit: error:`` lines, whether a traceback appeared, seconds,
the peak memory the case added, and every file outside its output folder that was
created, changed or removed. :mod:`tests.test_hostile_corpus` asserts on those lines.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

# -- inputs ------------------------------------------------------------------------------
# Each builder writes one file into ``folder`` and returns its path.


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, raw: bytes, *text: tuple[str, str]) -> bytes:
    """A grey PNG from raw scanlines, with iTXt chunks."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", ihdr)]
    for key, value in text:
        chunks.append(_png_chunk(b"iTXt", key.encode() + b"\0\0\0\0\0" + value.encode()))
    chunks += [_png_chunk(b"IDAT", zlib.compress(raw, 9)), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _small_png(*text: tuple[str, str]) -> bytes:
    return _png(8, 8, b"".join(b"\0" + bytes(range(i, i + 8)) for i in range(8)), *text)


DEEP = "[" * 100_000 + "]" * 100_000


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


IMAGES: dict[str, Callable[[Path], Path]] = {
    "empty": lambda d: _write(d, "empty.png", b""),
    "garbage": lambda d: _write(d, "garbage.png", os.urandom(4096)),
    "truncated": lambda d: _write(d, "truncated.png", _small_png()[:60]),
    "bad-crc": lambda d: _write(d, "bad-crc.png", _small_png().replace(b"IDAT", b"IDAX")),
    "bomb": lambda d: _write(d, "bomb.png", _png(9500, 9500, b"\0" * 9501 * 9500)),
    "text-as-jpg": lambda d: _write(d, "notes.jpg", "just some text\n" * 100),
}


def _gif_frames(folder: Path, name: str, frames: int, side: int) -> Path:
    from PIL import Image

    first = Image.new("P", (side, side), 0)
    rest = [Image.new("P", (side, side), i % 2) for i in range(1, frames)]
    path = folder / name
    first.save(path, save_all=True, append_images=rest, optimize=False, duration=10)
    return path


def _gif_huge_frame(folder: Path) -> Path:
    """A 10x10 screen holding one 30000x30000 frame of a few LZW bytes."""
    screen = b"GIF89a" + struct.pack("<HH", 10, 10) + b"\x80\0\0" + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHH", 0, 0, 30000, 30000) + b"\0" + b"\x02\x02\x44\x01\0;"
    return _write(folder, "huge-frame.gif", screen + frame)


GIFS: dict[str, Callable[[Path], Path]] = {
    "gif-huge-frame": _gif_huge_frame,
    "gif-truncated": lambda d: _write(
        d, "cut.gif", _gif_frames(d, "whole.gif", 3, 16).read_bytes()[:40]
    ),
    "gif-screen": lambda d: _write(  # a 65535 x 65535 logical screen and nothing else
        d, "screen.gif", b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\0\0\0;"
    ),
}


def _idx(n: int, side: int, body: bytes, magic: int = 0x0803) -> bytes:
    return struct.pack(">I3I", magic, n, side, side) + body


def _idx_gzip_bomb(folder: Path) -> Path:
    n, side = 2000, 256  # 131 MB of zeros, ~130 KB gzipped
    path = folder / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(struct.pack(">I3I", 0x0803, n, side, side))
        zeros = bytes(side * side * 100)
        for _ in range(n // 100):
            gz.write(zeros)
    return path


IDX: dict[str, Callable[[Path], Path]] = {
    "idx-magic": lambda d: _write(d, "magic-idx3-ubyte", _idx(2, 4, bytes(32), magic=0x1234)),
    "idx-claims-more": lambda d: _write(d, "more-idx3-ubyte", _idx(10**9, 28, bytes(784))),
    "idx-truncated": lambda d: _write(d, "cut-idx3-ubyte", _idx(2, 4, b"")[:7]),
    "idx-gzip-bomb": _idx_gzip_bomb,
    "idx-gzip-broken": lambda d: _write(d, "broken-idx3-ubyte.gz", b"\x1f\x8b\x08\0garbage"),
}


def _safetensors(header: bytes, data: bytes = b"\0" * 4, length: int | None = None) -> bytes:
    return struct.pack("<Q", len(header) if length is None else length) + header + data


_TENSOR = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
_META = {"format": "pt", "artkit.model": "dcgan", "artkit.step": "1", "artkit.config": "{}"}


def _header(**entries) -> bytes:
    return json.dumps(entries).encode()


CHECKPOINTS: dict[str, Callable[[Path], Path]] = {
    "st-empty": lambda d: _write(d, "empty.safetensors", b""),
    "st-header-length": lambda d: _write(
        d, "length.safetensors", _safetensors(b"{}", length=2**62)
    ),
    "st-not-json": lambda d: _write(d, "notjson.safetensors", _safetensors(b"{not json}")),
    "st-deep": lambda d: _write(
        d, "deep.safetensors", _safetensors(b'{"x":' + DEEP.encode() + b"}")
    ),
    "st-offsets": lambda d: _write(
        d,
        "offsets.safetensors",
        _safetensors(_header(x={**_TENSOR, "data_offsets": [0, 2**40]})),
    ),
    "st-shape": lambda d: _write(
        d,
        "shape.safetensors",
        _safetensors(_header(x={**_TENSOR, "shape": [2**31, 2**31]})),
    ),
    "st-dtype": lambda d: _write(
        d, "dtype.safetensors", _safetensors(_header(x={**_TENSOR, "dtype": "F1024"}))
    ),
    "st-config": lambda d: _write(
        d,
        "config.safetensors",
        _safetensors(_header(__metadata__={**_META, "artkit.config": DEEP}, x=_TENSOR)),
    ),
    "st-model": lambda d: _write(
        d,
        "model.safetensors",
        _safetensors(_header(__metadata__={**_META, "artkit.model": "no-such-model"}, x=_TENSOR)),
    ),
    "st-schema": lambda d: _write(  # from an artkit newer than this one
        d,
        "schema.safetensors",
        _safetensors(_header(__metadata__={**_META, "artkit.schema": "999"}, x=_TENSOR)),
    ),
    "st-weights": lambda d: _write(  # a dcgan whose tensors are not dcgan's
        d, "weights.safetensors", _safetensors(_header(__metadata__=_META, x=_TENSOR))
    ),
}


def _spec(folder: Path, name: str, body: str | bytes) -> Path:
    return _write(folder, name, body)


_MODEL = '[model]\ncheckpoint = "dcgan:resolution=32,width=0.125"\n'

SPECS: dict[str, Callable[[Path], Path]] = {
    "spec-not-toml": lambda d: _spec(d, "bad.toml", "series = \n[[[\n"),
    "spec-binary": lambda d: _spec(d, "binary.toml", os.urandom(2048)),
    "spec-deep": lambda d: _spec(d, "deep.toml", "x = " + "[" * 50_000 + "]" * 50_000 + "\n"),
    "spec-huge": lambda d: _spec(d, "huge.toml", "# " + "x" * (3 << 20) + "\n"),
    "spec-out-outside": lambda d: _spec(
        d,
        "outside.toml",
        f'series = "s"\nout = "/tmp"\ntemplate = "{{seed}}.png"\n{_MODEL}[sweep]\nseed = "0-1"\n',
    ),
    "spec-template-up": lambda d: _spec(
        d,
        "up.toml",
        f'series = "s"\nout = "r"\ntemplate = "../../{{seed}}.png"\n{_MODEL}'
        '[sweep]\nseed = "0-1"\n',
    ),
    "spec-seeds": lambda d: _spec(
        d,
        "seeds.toml",
        f'series = "s"\nout = "r"\ntemplate = "{{seed}}.png"\n{_MODEL}[sweep]\nseed = "0-1e400"\n',
    ),
    "spec-checkpoint": lambda d: _spec(
        d,
        "ckpt.toml",
        'series = "s"\nout = "r"\ntemplate = "{seed}.png"\n[model]\ncheckpoint = "/etc/passwd"\n'
        '[sweep]\nseed = "0-1"\n',
    ),
}

RECORDS: dict[str, Callable[[Path], Path]] = {
    "rec-deep": lambda d: _write(d, "deep.jsonl", '{"path": ' + DEEP + "}\n"),
    "rec-long-line": lambda d: _write(d, "long.jsonl", '{"path": "' + "a" * (2 << 20) + '"}\n'),
    "rec-not-utf8": lambda d: _write(d, "latin.jsonl", b'{"path": "caf\xe9.png"}\n'),
    "rec-path-number": lambda d: _write(d, "number.jsonl", '{"path": 5}\n'),
    "rec-nul": lambda d: _write(d, "nul.jsonl", '{"path": "a\\u0000b.png"}\n'),
    "rec-folder": lambda d: _write(d, "folder.jsonl", json.dumps({"path": str(d)}) + "\n"),
    "rec-missing": lambda d: _write(d, "missing.jsonl", '{"path": "no/such/file.png"}\n'),
}


def _with_provenance(folder: Path, name: str, provenance: str) -> Path:
    return _write(folder, name, _small_png(("artkit", provenance)))


def _prov(**fields) -> str:
    base = {"command": "sample", "model": "dcgan", "checkpoint_sha256": "0" * 64, "seed": 1}
    return json.dumps({**base, **fields})


PROVENANCE: dict[str, Callable[[Path], Path]] = {
    "prov-deep": lambda d: _with_provenance(d, "deep.png", DEEP),
    "prov-huge": lambda d: _with_provenance(d, "huge.png", json.dumps({"x": "y" * (3 << 20)})),
    "prov-list": lambda d: _with_provenance(d, "list.png", "[1, 2, 3]"),
    "prov-not-json": lambda d: _with_provenance(d, "notjson.png", "{seed: 1"),
    "prov-seed": lambda d: _with_provenance(
        d, "seed.png", _prov(model_spec="dcgan:resolution=32,width=0.125", seed="abc")
    ),
    "prov-model-path": lambda d: _with_provenance(
        d, "modelpath.png", _prov(model_spec="/etc/passwd")
    ),
    "prov-post-file": lambda d: _with_provenance(
        d,
        "postfile.png",
        _prov(model_spec="dcgan:resolution=32", post=["palette:file=/etc/passwd"]),
    ),
    "prov-command": lambda d: _with_provenance(d, "command.png", _prov(command=["x"] * 100)),
}

#: how each command reads one input: argument lists with IN (the input's path), IMG (a
#: good image), GOOD (a folder of four), OUT (the case's output folder); ``stdin=True`` feeds IN's bytes on stdin
IMAGE_COMMANDS = {
    "info": ["info", "IN"],
    "post": ["post", "invert", "-i", "IN", "-o", "OUT"],
    "grid": ["grid", "IN", "IMG", "-o", "OUT/sheet.png"],
    "animate": ["animate", "IN", "IMG", "-o", "OUT/a.gif"],
    "reproduce": ["reproduce", "IN"],
    "eval": ["eval", "IN", "IMG", "--ref", "GOOD", "--features", "random-conv"],
    "encode": ["encode", "vae:resolution=32", "IN", "-o", "OUT/z.safetensors"],
    "data-info": ["data", "info", "single-image:path=IN"],
    "project": ["project", "dcgan:resolution=32,width=0.1", "IN", "--steps", "2", "-o", "OUT"],
}
CHECKPOINT_COMMANDS = {
    "info": ["info", "IN"],
    "sample": ["sample", "IN", "-n", "1", "-o", "OUT"],
    "interpolate": ["interpolate", "IN", "--frames", "4", "-o", "OUT/w.gif"],
    "encode": ["encode", "IN", "IMG", "-o", "OUT/z.safetensors"],
    "eval-features": ["eval", "GOOD", "--ref", "GOOD", "--features", "checkpoint:path=IN"],
    "stylize": ["stylize", "IMG", "--model", "IN", "-o", "OUT"],
    "upgrade": ["checkpoint", "upgrade", "IN", "-o", "OUT/up.safetensors"],
    "project": ["project", "IN", "IMG", "--steps", "2", "-o", "OUT"],
}
IDX_COMMANDS = {
    "data-info": ["data", "info", "idx:path=IN"],
    "train": [
        "train",
        "dcgan:resolution=32,channels=1",
        "--data",
        "idx:path=IN",
        "--steps",
        "1",
        "-o",
        "OUT/run",
    ],
}
SPEC_COMMANDS = {
    "render": ["render", "IN"],
    "dry-run": ["render", "IN", "--dry-run"],
}
RECORD_COMMANDS = {
    "post": ["post", "invert", "-o", "OUT"],
    "grid": ["grid", "-o", "OUT/sheet.png"],
    "info": ["info"],
    "reproduce": ["reproduce"],
    "animate": ["animate", "-o", "OUT/a.gif"],
}
PROVENANCE_COMMANDS = {
    "info": ["info", "IN"],
    "reproduce": ["reproduce", "IN"],
    "grid-labels": ["grid", "IN", "--labels", "seed", "-o", "OUT/sheet.png"],
}

KINDS: dict[str, tuple[dict[str, Callable[[Path], Path]], dict[str, list[str]], bool]] = {
    "image": (IMAGES, IMAGE_COMMANDS, False),
    "gif": (GIFS, IMAGE_COMMANDS, False),
    "idx": (IDX, IDX_COMMANDS, False),
    "checkpoint": (CHECKPOINTS, CHECKPOINT_COMMANDS, False),
    "spec": (SPECS, SPEC_COMMANDS, False),
    "records": (RECORDS, RECORD_COMMANDS, True),
    "provenance": (PROVENANCE, PROVENANCE_COMMANDS, False),
}

#: (command, input) pairs that are not a user's mistake and may succeed
MAY_SUCCEED = {
    # info explains what a header says without decoding pixels or loading tensors
    ("info", "gif-truncated"), ("info", "st-dtype"), ("info", "st-model"),
    ("info", "st-weights"), ("info", "st-schema"),
    # a dry run computes nothing, so it never opens the checkpoint a spec names
    ("dry-run", "spec-checkpoint"),
    # provenance that is not artkit's (or unreadable) still leaves a readable image
    ("info", "prov-list"), ("info", "prov-not-json"), ("info", "prov-seed"),
    ("info", "prov-model-path"), ("info", "prov-post-file"), ("info", "prov-command"),
    ("grid-labels", "prov-deep"), ("grid-labels", "prov-huge"), ("grid-labels", "prov-list"),
    ("grid-labels", "prov-not-json"), ("grid-labels", "prov-seed"),
    ("grid-labels", "prov-model-path"), ("grid-labels", "prov-post-file"),
    ("grid-labels", "prov-command"),
}  # fmt: skip


def case_ids() -> list[str]:
    """``kind/input/command`` for every case, in a fixed order."""
    return [
        f"{kind}/{name}/{command}"
        for kind, (inputs, commands, _) in KINDS.items()
        for name in inputs
        for command in commands
    ]


# -- running -----------------------------------------------------------------------------


def _tree(root: Path, skip: Path) -> dict[str, str]:
    """Every file under ``root`` (but not under ``skip``) with a digest of its bytes."""
    out = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip:
            dirs[:] = []
            continue
        for name in files:
            path = Path(folder, name)
            if path.is_relative_to(skip):
                continue
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                digest = f"unreadable: {exc.strerror}"
            out[str(path.relative_to(root))] = digest
    return out


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


class _Escaped:
    """What :func:`run_case` records when an exception escaped ``run_cli`` itself."""

    def __init__(self, exc: BaseException):
        self.exit_code, self.exception = None, exc
        self.stderr = f"Traceback (escaped the CLI): {type(exc).__name__}: {exc}"[:2000]


def _escaped(exc: BaseException | None) -> bool:
    return exc is not None and not isinstance(exc, SystemExit)


def run_case(case: str, root: Path, inputs: dict[str, Path], good: Path) -> dict:
    from artkit.testing import run_cli

    kind, name, command = case.split("/")
    _, commands, via_stdin = KINDS[kind]
    out = root / "out" / case.replace("/", "-")
    out.mkdir(parents=True)
    source = inputs[name]
    args = [
        a.replace("OUT", str(out))
        .replace("IMG", str(good / "0.png"))
        .replace("GOOD", str(good))
        .replace("IN", str(source))
        for a in commands[command]
    ]
    stdin = source.read_bytes() if via_stdin else None
    before = _tree(root, out)
    reset = _reset_peak()
    rss = _status("VmRSS")
    cwd = os.getcwd()
    os.chdir(out)
    started = time.perf_counter()
    try:
        result = run_cli(["--device", "cpu", *args], input=stdin)
    except BaseException as exc:  # escaped the CLI itself: the worst outcome, recorded
        result = _Escaped(exc)
    finally:
        seconds = time.perf_counter() - started
        os.chdir(cwd)
    peak = _status("VmHWM")
    after = _tree(root, out)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    stderr = result.stderr
    return {
        "case": case,
        "exit_code": result.exit_code,
        "errors": [ln for ln in stderr.splitlines() if ln.startswith("artkit: error:")],
        "traceback": "Traceback" in stderr or _escaped(result.exception),
        "stderr_tail": stderr[-600:],
        "seconds": round(seconds, 3),
        "added_mb": (peak - rss) if reset else None,
        "changed_outside": changed,
    }


def build(root: Path) -> tuple[dict[str, Path], Path]:
    from PIL import Image

    folder = root / "inputs"
    folder.mkdir(parents=True)
    inputs = {}
    for kind, (builders, _, _) in KINDS.items():
        sub = folder / kind
        sub.mkdir()
        for name, builder in builders.items():
            inputs[name] = builder(sub)
    good = folder / "good"  # four plain images: the other input where a command needs one
    good.mkdir()
    for i in range(4):
        Image.new("RGB", (32, 32), (200, 30 + 40 * i, 60)).save(good / f"{i}.png")
    return inputs, good


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    wanted = argv[1:] or case_ids()
    import torch

    torch.set_num_threads(1)
    from artkit.testing import run_cli

    run_cli(["--help"])  # every command module loaded before any case is timed

    inputs, good = build(root)
    for case in wanted:
        print(json.dumps(run_case(case, root, inputs, good)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
