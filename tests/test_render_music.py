"""``artkit render`` on a music model: a series of MIDI files through the media contract.

A MuseGAN trained a few real steps on four chorales renders a seed x truncation
series of ``.mid`` files (piano-roll ``.png`` and, with ``audio = true``, ``.wav``
beside each), a sheet of their piano rolls and a medley walk; a second render skips
every file untouched; ``reproduce`` says identical; ``info`` shows the render's
provenance; and the mismatches (a music model and a picture template, ``post``,
``format`` or ``audio`` where they do not apply) are one-line errors.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from artkit.api.models import weights_file
from artkit.api.train import run_training
from artkit.testing import run_cli
from tests.helpers import one_error_line

pytest.importorskip("music21")  # the corpora (the music extra, also in dev)
mido = pytest.importorskip("mido")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def music_run(tmp_path_factory, one_thread):
    run = tmp_path_factory.mktemp("music") / "run"
    given = {"batch_size": 4, "sample_every": 0, "log_every": 1, "steps": 2}
    spec = "musegan:bars=2,pitches=24,tracks=4,width=0.25"
    run_training(
        spec, "chorales:count=4", given, out=run, device="cpu", precision="fp32", seed=0, quiet=True
    )
    return weights_file(run)


def write_spec(folder, weights, body):
    folder.mkdir(parents=True, exist_ok=True)
    head = f'series = "chorale"\nout = "out"\nmodel = {{ checkpoint = "{weights}" }}\n'
    (folder / "s.toml").write_text(head + textwrap.dedent(body))
    return folder / "s.toml"


SERIES = """\
    template = "{series}/t{truncation}/s{seed:02d}.mid"
    audio = true
    [sweep]
    seed = "0-2"
    truncation = [0.5, 1.0]
    [[sheet]]
    rows = "truncation"
    columns = "seed"
    out = "{series}/sheet.png"
    [[walk]]
    seeds = [0, 1]
    frames = 3
    out = "{series}/medley.mid"
"""


def render(spec, *more):
    return run_cli(["--device", "cpu", "--precision", "fp32", "render", str(spec), *more])


def test_a_music_series_renders_midi_sheets_and_a_medley(tmp_path, music_run, monkeypatch):
    # the numpy synthesiser, as on a bare machine
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    spec = write_spec(tmp_path, music_run, SERIES)
    result = render(spec)
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "out" / "chorale"
    mids = sorted(out.glob("t*/s*.mid"))
    assert [p.relative_to(out).as_posix() for p in mids] == [
        f"t{t}/s{s:02d}.mid" for t in (0.5, 1.0) for s in range(3)
    ]
    for mid in mids:
        song = mido.MidiFile(mid)
        assert len(song.tracks) == 5  # a meta track and the four voices
        assert mid.with_suffix(".png").is_file() and mid.with_suffix(".wav").stat().st_size > 1000
    # truncation reaches the model: the same seed at another truncation is another piece
    assert (out / "t0.5/s01.mid").read_bytes() != (out / "t1.0/s01.mid").read_bytes()
    assert (out / "sheet.png").is_file()
    medley = mido.MidiFile(out / "medley.mid")
    assert medley.length > mido.MidiFile(mids[0]).length  # three phrases, one after another
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 6

    before = {p: p.stat().st_mtime_ns for p in out.glob("t*/s*.*")}
    again = render(spec)
    assert again.exit_code == 0, again.stderr
    assert "0 rendered" in again.stderr and "6 already there" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("t*/s*.*")} == before
    # a .mid whose .wav is gone is not "already there": the next render writes the set again
    (out / "t1.0/s00.wav").unlink()
    third = render(spec)
    assert third.exit_code == 0, third.stderr
    assert "1 rendered" in third.stderr and "5 already there" in third.stderr
    assert (out / "t1.0/s00.wav").stat().st_size > 1000

    for name in ("t1.0/s02.mid", "t0.5/s01.mid"):
        same = run_cli(["--device", "cpu", "reproduce", str(out / name)])
        assert same.exit_code == 0, same.stderr
        assert same.stdout.strip().endswith("identical")
    info = run_cli(["info", str(out / "t0.5/s01.mid")])
    assert info.exit_code == 0, info.stderr
    assert "render" in info.stdout and "truncation" in info.stdout and "seed" in info.stdout


def test_dry_run_of_a_music_series_prints_the_plan_and_writes_nothing(tmp_path, music_run):
    spec = write_spec(tmp_path, music_run, SERIES)
    result = render(spec, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "total     6 midi files" in result.stdout
    assert "chorale/t0.5/s00.mid" in result.stdout and "medley.mid" in result.stdout
    assert not (tmp_path / "out").exists()


def test_the_example_music_spec_plans(tmp_path):
    example = Path(__file__).resolve().parent.parent / "examples/series/chorale-musicvae.toml"
    result = run_cli(["render", str(example), "--dry-run", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.stderr
    assert "total     24 midi files" in result.stdout
    assert "chorales/t0.5/s000.mid" in result.stdout
    assert not (tmp_path / "r").exists()


def test_an_image_model_with_a_midi_template_is_a_one_line_error(tmp_path):
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "s.toml").write_text(
        'series = "x"\nout = "out"\ntemplate = "{seed}.mid"\n'
        '[model]\ncheckpoint = "dcgan:resolution=32,width=0.125"\n[sweep]\nseed = "0-1"\n'
    )
    result = render(folder / "s.toml")
    assert result.exit_code == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "writes pictures, and this series' template writes midi files" in line
    assert ".png" in line
    assert not (folder / "out").exists() or not any((folder / "out").rglob("*.*"))


def test_a_file_artkit_did_not_write_is_not_replaced(tmp_path, music_run):
    spec = write_spec(tmp_path, music_run, SERIES.replace("audio = true\n", ""))
    theirs = tmp_path / "out" / "chorale" / "t0.5" / "s00.mid"
    theirs.parent.mkdir(parents=True)
    mido.MidiFile().save(theirs)  # someone's own MIDI file where an output would go
    data = theirs.read_bytes()
    result = render(spec)
    assert result.exit_code != 0
    assert "exists and was not written by artkit" in one_error_line(result.stderr)
    assert theirs.read_bytes() == data


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'template = "{seed}.png"\n[sweep]\nseed = "0-1"\n',
            "writes midi files, and this series' template writes pictures; "
            "end the template with one of .mid, .midi",
        ),
        (
            'template = "{seed}.mid"\npost = ["sharpen"]\n[sweep]\nseed = "0-1"\n',
            "post: post-processing steps are for pictures; this series writes midi files",
        ),
        (
            'template = "{seed}.mid"\nformat = "webp"\n[sweep]\nseed = "0-1"\n',
            "format: is for pictures; this template writes midi files",
        ),
        (
            'template = "{seed}.png"\naudio = true\n[sweep]\nseed = "0-1"\n',
            "audio: image files have no sound to render",
        ),
        (
            'template = "{seed}.mid"\n[sweep]\nseed = "0-1"\n[[walk]]\nseeds = [0, 1]\n'
            'out = "walk.gif"\n',
            "must end with one of .mid, .midi",
        ),
    ],
)
def test_mismatched_media_are_one_line_errors(tmp_path, music_run, body, message):
    spec = write_spec(tmp_path, music_run, body)
    result = render(spec)
    assert result.exit_code == 2, result.stderr
    assert message in one_error_line(result.stderr)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.mid"))
