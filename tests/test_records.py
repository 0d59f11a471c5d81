"""artkit.records: the stdin/stdout record protocol (DESIGN.md principle 5)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from artkit.errors import UsageError
from artkit.records import (
    NO_INPUT_MESSAGE,
    OutputClosed,
    Record,
    RecordWriter,
    expand_paths,
    read_records,
)

REPO = Path(__file__).resolve().parents[1]


def paths(records) -> list[str]:
    return [r.path for r in records]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class ChunkSource(io.RawIOBase):
    """A pipe stand-in: hands out one chunk per read and counts what was consumed."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = list(chunks)
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        self.served += 1
        buffer[: len(chunk)] = chunk
        return len(chunk)


def piped(chunks: list[bytes]) -> tuple[io.TextIOWrapper, ChunkSource]:
    source = ChunkSource(chunks)
    return io.TextIOWrapper(io.BufferedReader(source), encoding="utf-8"), source


# --------------------------------------------------------------------------- reading


def test_record_defaults_data_to_path():
    assert Record("a.png").data == {"path": "a.png"}
    assert Record("a.png", {"path": "a.png", "seed": 1}).data["seed"] == 1


def test_arguments_win_over_stdin():
    stdin = io.StringIO("from-stdin.png\n")
    assert paths(read_records(["a.png", Path("b.png")], stdin=stdin)) == ["a.png", "b.png"]
    assert stdin.tell() == 0  # not touched


def test_lone_dash_reads_stdin_even_from_a_terminal():
    assert paths(read_records(["-"], stdin=FakeTTY("x.png\n"))) == ["x.png"]


def test_plain_lines():
    stdin = io.StringIO("a.png\n\n  \nwith space.png\r\nlast.png")
    records = list(read_records([], stdin=stdin))
    assert paths(records) == ["a.png", "with space.png", "last.png"]
    assert records[1].data == {"path": "with space.png"}


def test_json_lines_keep_their_fields():
    lines = [
        json.dumps({"path": "a.png", "seed": 1, "model": "dcgan"}),
        "b.png",
        '  {"path": "c.png", "nested": {"x": [1, 2]}}',
    ]
    records = list(read_records([], stdin=io.StringIO("\n".join(lines) + "\n")))
    assert paths(records) == ["a.png", "b.png", "c.png"]
    assert records[0].data == {"path": "a.png", "seed": 1, "model": "dcgan"}
    assert records[2].data["nested"] == {"x": [1, 2]}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('ok.png\n{"path": "a.png",\n', r"stdin line 2: invalid JSON record"),
        ('ok.png\nok2.png\n{"seed": 1}\n', r"stdin line 3: JSON record has no 'path' key"),
        ('{"path": 5}\n', r"stdin line 1: JSON record has a 'path' that is not a string"),
        ("ok.png\n{}\n", r"stdin line 2: JSON record has no 'path' key"),
    ],
)
def test_bad_json_is_a_usage_error_with_line_number(text, match):
    records = read_records([], stdin=io.StringIO(text))
    with pytest.raises(UsageError, match=match):
        list(records)


def test_records_before_a_bad_line_still_arrive():
    records = read_records([], stdin=io.StringIO("a.png\n{oops\n"))
    assert next(records).path == "a.png"
    with pytest.raises(UsageError, match="line 2"):
        next(records)


def test_nul_separated_input():
    stream, _ = piped([b"a.png\0name with\nnewline.png\0", b'{"path": "j.png", "k": 1}\0'])
    records = list(read_records([], stdin=stream))
    assert paths(records) == ["a.png", "name with\nnewline.png", "j.png"]
    assert records[2].data == {"path": "j.png", "k": 1}


def test_nul_separated_bad_json_counts_records():
    stream, _ = piped([b"a.png\0{bad\0"])
    with pytest.raises(UsageError, match="stdin record 2"):
        list(read_records([], stdin=stream))


def test_nul_separated_from_a_plain_text_stream():
    assert paths(read_records([], stdin=io.StringIO("a.png\0b.png\0"))) == ["a.png", "b.png"]


def test_terminal_without_arguments_is_a_usage_error_at_call_time():
    with pytest.raises(UsageError) as err:
        read_records([], stdin=FakeTTY())  # raised before any iteration
    assert str(err.value) == NO_INPUT_MESSAGE
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    "chunks",
    [
        [b"first.png\nsec", b"ond.png\n", b"third.png\n"],
        [b"first.png\0sec", b"ond.png\0", b"third.png\0"],
    ],
)
def test_reading_is_streaming(chunks):
    stream, source = piped(chunks)
    records = read_records([], stdin=stream)
    assert source.served == 0  # nothing read before iteration starts
    assert next(records).path == "first.png"
    assert source.served == 1  # the first record came from the first chunk alone
    assert next(records).path == "second.png"
    assert source.served == 2
    assert paths(records) == ["third.png"]


def test_reading_is_streaming_through_a_real_pipe():
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as reader, os.fdopen(write_fd, "w") as writer:
        writer.write("first.png\n")
        writer.flush()  # the writer stays open: EOF has not happened
        records = read_records([], stdin=reader)
        got: list[str] = []
        thread = threading.Thread(target=lambda: got.append(next(records).path), daemon=True)
        thread.start()
        thread.join(timeout=10)
        assert got == ["first.png"], "first record did not arrive before stdin closed"
        writer.write("second.png\n")
        writer.close()
        assert paths(records) == ["second.png"]


def test_undecodable_names_survive_the_round_trip():
    stream, _ = piped([b"caf\xe9.png\n"])
    (record,) = read_records([], stdin=stream)
    assert os.fsencode(record.path) == b"caf\xe9.png"
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    RecordWriter(out).write(record.path)
    assert out.buffer.getvalue() == b"caf\xe9.png\n"
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    RecordWriter(out, json=True).write(record.path, seed=1)
    line = out.buffer.getvalue().decode("ascii")
    assert json.loads(line) == {"path": record.path, "seed": 1}


# --------------------------------------------------------------------------- expanding


def test_expand_paths(tmp_path):
    for rel in ["b.png", "a/z.JPG", "a/b/c.webp", "a-b.png", "notes.txt", ".hidden.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.png").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    root = str(tmp_path)
    got = expand_paths(["first.png", root, str(tmp_path / "empty"), "missing.png"])
    assert got == [
        "first.png",
        os.path.join(root, "a", "b", "c.webp"),
        os.path.join(root, "a", "z.JPG"),
        os.path.join(root, "a-b.png"),
        os.path.join(root, "b.png"),
        "missing.png",
    ]


def test_read_records_expands_directories(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    (tmp_path / "y.txt").write_bytes(b"")
    assert paths(read_records([tmp_path])) == [str(tmp_path / "x.png")]
    assert paths(read_records([tmp_path], expand=False)) == [str(tmp_path)]


# --------------------------------------------------------------------------- writing


def test_writer_plain_json_and_null():
    out = io.StringIO()
    writer = RecordWriter(out)
    writer.write("a.png")
    writer.write(Path("b c.png"), seed=3)  # fields are ignored in plain mode
    assert out.getvalue() == "a.png\nb c.png\n"
    assert writer.count == 2

    out = io.StringIO()
    RecordWriter(out, null=True).write("with\nnewline.png")
    assert out.getvalue() == "with\nnewline.png\0"

    out = io.StringIO()
    writer = RecordWriter(out, json=True)
    writer.write("a.png", seed=3, model="dcgan", src=Path("in.png"), prompt="ünï")
    writer.write("b.png")
    lines = out.getvalue().splitlines()
    assert lines[0] == '{"path":"a.png","seed":3,"model":"dcgan","src":"in.png","prompt":"ünï"}'
    assert json.loads(lines[1]) == {"path": "b.png"}

    out = io.StringIO()
    RecordWriter(out, json=True, null=True).write("a.png", k=1)
    assert out.getvalue() == '{"path":"a.png","k":1}\0'


def test_writer_output_reads_back():
    out = io.StringIO()
    writer = RecordWriter(out, json=True)
    writer.write("a.png", seed=1)
    writer.write("b.png", seed=2)
    records = list(read_records([], stdin=io.StringIO(out.getvalue())))
    assert [r.data for r in records] == [{"path": "a.png", "seed": 1}, {"path": "b.png", "seed": 2}]


def test_writer_defaults_to_current_stdout(capsys):
    RecordWriter().write("a.png")
    assert capsys.readouterr().out == "a.png\n"


def test_writer_flushes_every_record():
    class Counting(io.StringIO):
        flushes = 0

        def flush(self):
            self.flushes += 1
            super().flush()

    out = Counting()
    writer = RecordWriter(out)
    for name in ("a", "b", "c"):
        writer.write(name)
    assert out.flushes == 3


def test_writer_raises_output_closed_on_broken_pipe():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    writer = RecordWriter(Closed())
    with pytest.raises(OutputClosed):
        writer.write("a.png")
    with pytest.raises(OutputClosed):
        writer.write("b.png")  # stays closed
    assert not issubclass(OutputClosed, UsageError)


PRODUCER = """
import sys
from artkit.records import OutputClosed, RecordWriter
writer = RecordWriter(json={json})
try:
    for i in range(200_000):
        writer.write(f"img{{i:06d}}.png", seed=i)
except OutputClosed:
    print("late output goes nowhere, quietly")  # e.g. a summary the CLI prints anyway
    sys.exit(0)
sys.exit(3)  # head -1 should have closed the pipe long before this
"""


@pytest.mark.parametrize("as_json", [False, True])
def test_broken_pipe_into_head_is_quiet(as_json):
    script = PRODUCER.format(json=as_json)
    result = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$0" -c "$1" | head -1', sys.executable, script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = '{"path":"img000000.png","seed":0}' if as_json else "img000000.png"
    assert result.stdout == expected + "\n"


def test_a_huge_record_is_one_short_line_in_linear_time(tmp_path):
    """64 MB on one line (no newline yet): refused quickly, without echoing the record."""
    import time

    from artkit.testing import run_cli

    huge = "x" * (64 << 20)
    started = time.perf_counter()
    with pytest.raises(UsageError) as info:
        list(read_records([], stdin=io.StringIO("a.png\n" + huge + "\nb.png\n")))
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert (
        message.startswith("stdin line 2: longer than 1,048,576 characters") and len(message) < 200
    )
    result = run_cli(["post", "invert", "-o", str(tmp_path / "out")], input=huge)
    assert result.exit_code == 2 and len(result.stderr) < 300, result.stderr[:300]
    assert "Traceback" not in result.stderr


def test_a_long_record_split_across_chunks_arrives_whole():
    stream = io.BytesIO(("a" * 200_000 + ".png\nb.png\n").encode())
    text = io.TextIOWrapper(stream, encoding="utf-8")
    assert [r.path for r in read_records([], stdin=text)] == ["a" * 200_000 + ".png", "b.png"]


def test_deeply_nested_json_is_a_usage_error():
    deep = '{"path": "a.png", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    with pytest.raises(UsageError, match="stdin line 1: JSON record nested too deeply"):
        list(read_records([], stdin=io.StringIO(deep)))
