"""The music models (``musegan``, ``musicvae``) under the real trainer, on tiny real corpora.

Both pass the model conformance check; each trains a few real steps on a slice
of the music21 corpora (Bach chorales, folk tunes) through ``run_training``
(what ``artkit train`` runs) with finite losses and generated rolls of the
right shape that are neither silent nor all notes; MuseGAN's exact resume is
bit-exact (its transposition augmentation draws from the trainer's generator);
MusicVAE learns to reconstruct a training roll better than silence does.
"""

from __future__ import annotations

import math

import pytest
import torch

from artkit.api.models import weights_file
from artkit.api.train import run_training
from artkit.checkpoint import build_model, load_model, read_header
from artkit.device import make_generator
from artkit.errors import UsageError
from artkit.plugins import get_registry
from tests.helpers import assert_same_tensors, metrics

pytest.importorskip("music21")  # the corpora (the music extra, also in dev)
pytest.importorskip("mido")

pytestmark = pytest.mark.usefixtures("one_thread")

MUSEGAN = "musegan:bars=2,pitches=24,tracks=4,width=0.25"
MUSICVAE = "musicvae:bars=2,pitches=24,tracks=2,width=0.25,z_dim=16"
COMMON = {"device": "cpu", "precision": "fp32", "seed": 0, "quiet": True}


def train(spec, data, out, **options):
    given = {"batch_size": 4, "sample_every": 0, "log_every": 1, "checkpoint_every": 2, **options}
    return run_training(spec, data, given, out=out, **COMMON)


def roll_batch(data, model, n):
    """``n`` rolls of dataset ``data`` at the model's geometry, as the trainer feeds them."""
    name, _, params = data.partition(":")
    count = int(params.split("=")[1])
    cfg = model.config
    source = (
        get_registry("datasets")
        .get(name)
        .create({"count": count}, resolution=cfg.resolution, channels=cfg.channels)
    )
    rolls = torch.stack([torch.from_numpy(source[i]) for i in range(n)])  # (n, T, P, tracks)
    return rolls.permute(0, 3, 1, 2).float() / 127.5 - 1


def assert_finite_losses(run):
    rows = metrics(run)
    losses = {k: v for row in rows for k, v in row.items() if "loss" in k}
    assert rows and losses
    assert all(math.isfinite(v) for v in losses.values()), losses


def assert_plausible_rolls(rolls, shape):
    assert rolls.shape == shape
    assert torch.isfinite(rolls).all() and rolls.min() >= -1 and rolls.max() <= 1
    density = (rolls > 0).float().mean().item()
    assert 0 < density < 1, density


# -- conformance --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["musegan", "musicvae"])
def test_music_models_pass_the_model_conformance_check(name, tmp_path):
    from artkit.conformance import check_model

    check_model(name, tmp_dir=tmp_path)


def test_configs_read_as_rolls_and_refuse_bad_values_in_one_line():
    net = build_model("musegan", {"bars": 2, "pitches": 24, "tracks": 2, "width": 0.25})
    cfg = net.config
    assert (cfg.resolution, cfg.channels) == ("32x24", 2)
    assert net.image_shape == (2, 32, 24) and net.output_kind == "midi"
    assert cfg.programs == "73/0" and cfg.names == "melody/chords"  # filled by track count
    assert net.z_dim == cfg.z_dim * (2 + 2 * 2)  # shared, private, temporal shared, private
    for bad in ({"pitches": 30}, {"low": 100}, {"programs": "52/x"}, {"steps_per_bar": 6}):
        with pytest.raises(UsageError, match=next(iter(bad))) as err:
            build_model("musicvae", bad)
        assert "\n" not in str(err.value)


def test_transposition_moves_notes_without_wrapping():
    from artkit_music.torch_musegan import transpose

    x = -torch.ones(3, 2, 4, 12)
    x[:, 0, 1, 0] = 1  # lowest row
    x[:, 1, 2, 11] = 1  # highest row
    y = transpose(x, torch.tensor([0, 3, -2]))
    assert torch.equal(y[0], x[0])
    assert y[1, 0, 1, 3] == 1 and (y[1] > 0).sum() == 1  # up 3; the top note falls off
    assert y[2, 1, 2, 9] == 1 and (y[2] > 0).sum() == 1  # down 2; the bottom note falls off
    assert set(y.unique().tolist()) <= {-1.0, 1.0}


# -- real training ----------------------------------------------------------------------
def test_musegan_trains_on_chorales_and_writes_rolls(tmp_path):
    run = tmp_path / "run"
    result = train(MUSEGAN, "chorales:count=4", run, steps=3)
    assert result.step == 3 and result.exit_code == 0
    assert_finite_losses(run)
    rows = metrics(run)
    assert all(0 < r["real_density"] < 0.5 for r in rows)  # real rolls: sparse, not empty
    net = load_model(weights_file(run)).eval()
    assert_plausible_rolls(net.sample(4, make_generator(1)), (4, 4, 32, 24))


def test_the_model_writes_notes_from_the_datas_lowest_pitch(tmp_path):
    # rolls made from MIDI note 40 up: the model's rows must mean the same notes
    train(MUSEGAN, "chorales:count=4,low=40", tmp_path / "run", steps=1)
    assert read_header(weights_file(tmp_path / "run")).config["low"] == 40
    with pytest.raises(UsageError) as err:
        train(MUSEGAN + ",low=36", "chorales:count=4,low=40", tmp_path / "bad", steps=1)
    assert str(err.value) == (
        "model option low=36 does not match the data's low=40 (chorales:count=4,low=40): "
        "give the same to both"
    )
    assert not (tmp_path / "bad").exists()


def test_musegan_exact_resume_reproduces_an_uninterrupted_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(MUSEGAN, "chorales:count=4", a, steps=4)
    train(MUSEGAN, "chorales:count=4", b, steps=2)
    assert read_header(weights_file(b)).step == 2
    resumed = run_training(None, None, {"steps": 4}, resume=b, **COMMON)
    assert resumed.step == 4
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "state.safetensors", b / "state.safetensors")
    keys = ("step", "d_loss", "g_loss", "d_real", "d_fake", "real_density")
    assert [{k: r[k] for k in keys} for r in metrics(b)] == [
        {k: r[k] for k in keys} for r in metrics(a)
    ]


def test_musicvae_learns_to_reconstruct_folk_tunes(tmp_path):
    run = tmp_path / "run"
    result = train(MUSICVAE, "folk:count=4", run, steps=100, batch_size=8, lr=3e-3)
    assert result.step == 100
    assert_finite_losses(run)
    rows = metrics(run)
    assert rows[-1]["recon"] < 0.8 * rows[0]["recon"]  # the Bernoulli loss falls
    net = load_model(weights_file(run))
    x = roll_batch("folk:count=4", net, 8)
    y = net.decode(net.encode(x)[0])
    assert y.shape == x.shape
    notes = x > 0
    wrong = ((y > 0) != notes).sum().item()  # cells the reconstruction gets wrong
    assert wrong < 0.75 * notes.sum().item()  # silence gets every note wrong
    assert_plausible_rolls(net.sample(4, make_generator(1)), (4, 2, 32, 24))


# -- what keeps musegan from collapsing ---------------------------------------------------
def test_musegan_follows_what_suits_chorales_unless_told_otherwise(tmp_path):
    train(MUSEGAN, "chorales:count=4", tmp_path / "a", steps=1)
    config = read_header(weights_file(tmp_path / "a")).config
    assert (config["voices"], config["note_steps"]) == ("mono", 4)
    # the user's own values win, with no error (unlike a hint such as low)
    train(MUSEGAN + ",voices=poly,note_steps=1", "chorales:count=4", tmp_path / "b", steps=1)
    config = read_header(weights_file(tmp_path / "b")).config
    assert (config["voices"], config["note_steps"]) == ("poly", 1)
    # two voices a track are chords, not lines: only the note length follows
    train(
        "musegan:bars=2,pitches=24,tracks=2,width=0.25", "chorales:count=4", tmp_path / "c", steps=1
    )
    config = read_header(weights_file(tmp_path / "c")).config
    assert (config["voices"], config["note_steps"]) == ("poly", 4)


def test_mono_voices_play_one_note_a_track_held_for_note_steps():
    cfg = {"bars": 2, "pitches": 24, "tracks": 3, "width": 0.25, "voices": "mono", "note_steps": 2}
    net = build_model("musegan", cfg)
    torch.manual_seed(0)
    x = net.G(torch.randn(8, net.z_dim))  # (8, 3, 32, 24)
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    assert (x > 0).sum(dim=3).max() <= 1  # a note or a rest per track and step
    assert 0 < (x > 0).float().mean() < 1
    assert torch.equal(x[:, :, 0::2], x[:, :, 1::2])  # each decision held for two steps
    # straight-through: every pitch logit and the rest logit get a gradient
    (x * torch.randn_like(x)).sum().backward()
    assert net.G.pitch.weight.grad.abs().sum() > 0 and net.G.rest.weight.grad.abs().sum() > 0
    with pytest.raises(UsageError, match="note_steps"):
        build_model("musegan", {**cfg, "note_steps": 3})
    with pytest.raises(UsageError, match="voices"):
        build_model("musegan", {**cfg, "voices": "duo"})


def test_a_packed_discriminator_judges_phrases_in_groups(tmp_path):
    net = build_model("musegan", {"bars": 2, "pitches": 24, "tracks": 2, "width": 0.25, "pack": 2})
    assert net.D(torch.rand(8, 2, 32, 24) * 2 - 1).shape == (4,)
    result = train(MUSEGAN + ",pack=2", "chorales:count=4", tmp_path / "run", steps=2)
    assert result.step == 2
    assert_finite_losses(tmp_path / "run")
    with pytest.raises(UsageError, match="multiple of 2") as err:
        train(MUSEGAN + ",pack=2", "chorales:count=4", tmp_path / "bad", steps=1, batch_size=3)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "bad").exists()  # refused before the run folder was made


def test_mode_seeking_ratio_is_zero_for_a_collapsed_batch():
    from artkit_music.torch_musegan import mode_seeking_ratio

    z = torch.randn(8, 6)
    same = torch.ones(1, 2, 4, 12).expand(8, -1, -1, -1)
    assert mode_seeking_ratio(same, z).item() == 0
    apart = torch.randn(8, 2, 4, 12)
    assert mode_seeking_ratio(apart, z).item() > 0
    assert mode_seeking_ratio(apart * 2, z).item() == pytest.approx(
        2 * mode_seeking_ratio(apart, z).item()
    )


@pytest.mark.parametrize(
    ("spec", "data"), [(MUSEGAN, "chorales:count=4"), (MUSICVAE, "folk:count=4")]
)
def test_music_models_train_under_two_process_ddp(spec, data, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "--precision", "fp32", "train", spec, "--data", data,
         "-b", "4", "--steps", "3", "--log-every", "1", "--sample-every", "0", "-o", "run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["run/weights.safetensors"]  # rank 0 writes, once
    run = tmp_path / "run"
    assert read_header(weights_file(run)).step == 3
    assert [r["step"] for r in metrics(run)] == [1, 2, 3]
    assert_finite_losses(run)
    net = load_model(weights_file(run)).eval()
    rolls = net.sample(2, make_generator(0))
    assert rolls.shape[0] == 2 and torch.isfinite(rolls).all()
