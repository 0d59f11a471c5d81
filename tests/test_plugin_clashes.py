"""Name clashes between plugins (issue #18): a clash shadows the newcomer's entry and
never fails a plugin; ``PLUGIN.NAME`` reaches every entry; ``ARTKIT_PREFER`` picks a
provider; a lazy factory that cannot be imported, like any plugin failure, is one line."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

import pytest
from PIL import Image

import artkit
from artkit.plugins import get_registry
from artkit.testing import plugin_registered, run_cli

TRAIN = ["--data", "shapes:count=16", "--steps", "1", "--batch-size", "8"]
SMALL_DCGAN = "dcgan:resolution=32,width=0.125"
made: list[dict] = []  # what the plugin's factories were called with


def rd_dcgan(**options):
    """rd's "dcgan": the built-in network, marked, so a test can tell whose was built."""
    made.append({"model": options})
    return get_registry("models").get("gan.dcgan").create(options)


@dataclass
class FMConfig:
    weight: float = 1.0


def feature_matching(weight: float = 1.0):
    from artkit.nn.gan_losses import HingeLoss

    made.append({"loss": weight})
    return HingeLoss()


class RD:
    """A third-party plugin whose names clash with the built-ins' (halftone, dcgan)."""

    @artkit.hookimpl
    def register_postprocessors(self, register):
        register("halftone", lambda image: image.convert("L").convert("RGB"), description="rd's")

    @artkit.hookimpl
    def register_models(self, register):
        register("dcgan", rd_dcgan, description="rd's dcgan")
        register("rd-broken", "rd_missing_module.nets:Net", description="cannot be imported")

    @artkit.hookimpl
    def register_losses(self, register):
        register("feature-matching", feature_matching, params=FMConfig)


@pytest.fixture
def rd():
    made.clear()
    with plugin_registered(RD(), name="rd"):
        yield


def _names(result) -> dict[str, str]:
    assert result.exit_code == 0, result.stderr
    return {d["name"]: d["plugin"] for d in map(json.loads, result.stdout.splitlines())}


def test_a_clash_shadows_the_newcomer_and_warns_once(rd):
    result = run_cli(["list", "post", "--json"])
    names = _names(result)
    builtin = {e.name for e in get_registry("postprocessors") if e.plugin == "post"}
    assert builtin <= set(names) and len(builtin) > 20
    assert names["halftone"] == "post" and names["rd.halftone"] == "rd"
    warning = (
        "artkit: warning: post-processor 'halftone' is registered by both plugin 'post' and "
        "plugin 'rd'; 'post' wins: use rd.halftone for rd's, or prefer rd with ARTKIT_PREFER=rd"
    )
    assert result.stderr.count(warning) == 1, result.stderr
    assert "failed" not in result.stderr
    models = _names(run_cli(["list", "models", "--json"]))
    assert models["dcgan"] == models["mlp-gan"] == "gan" and models["rd.dcgan"] == "rd"
    assert get_registry("losses").get("bce").plugin == "gan"  # the gan plugin kept everything
    assert get_registry("models").get("gan.dcgan") is get_registry("models").get("dcgan")


def test_plugins_shows_what_is_shadowed(rd):
    result = run_cli(["plugins", "--json"])
    rows = {d["name"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert rows["rd"]["status"] == "loaded" and rows["post"]["status"] == "loaded"
    assert rows["rd"]["shadowed"] == {
        "models": {"dcgan": "gan"},
        "postprocessors": {"halftone": "post"},
    }
    assert rows["gan"]["shadowed"] == {}
    table = run_cli(["plugins"]).stdout
    assert "halftone (post has it; use rd.halftone)" in " ".join(table.split())


def test_train_plain_name_is_the_builtin_and_qualified_name_round_trips(rd, tmp_path):
    from artkit.checkpoint import load_model, read_header

    result = run_cli(["train", SMALL_DCGAN, *TRAIN, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.stderr
    assert made == []  # the built-in dcgan, not rd's
    header = read_header(tmp_path / "a" / "weights.safetensors")
    # a contested name is recorded qualified: it loads the same model whatever is preferred
    assert (header.model, header.metadata["artkit.plugin"]) == ("gan.dcgan", "gan")

    # rd's shadowed dcgan by its qualified name, with a loss given as a spec
    spec = "rd." + SMALL_DCGAN
    args = [
        "train",
        spec,
        "--loss",
        "feature-matching:weight=2",
        *TRAIN,
        "--out",
        str(tmp_path / "b"),
    ]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert {"loss": 2.0} in made and {"model": {"resolution": "32", "width": "0.125"}} in made
    weights = tmp_path / "b" / "weights.safetensors"
    header = read_header(weights)
    assert (header.model, header.metadata["artkit.plugin"]) == ("rd.dcgan", "rd")
    made.clear()
    load_model(weights)
    assert len(made) == 1 and "model" in made[0]  # rebuilt through rd's factory again


def test_loss_spec_checks_its_parameters(rd, tmp_path):
    result = run_cli(["train", SMALL_DCGAN, "--loss", "feature-matching:wieght=2", *TRAIN])
    assert result.exit_code == 2 and "did you mean 'weight'" in result.stderr
    result = run_cli(["train", SMALL_DCGAN, "--loss", "hinge:weight=2", *TRAIN])
    assert result.exit_code == 2 and "loss 'hinge' takes no parameters" in result.stderr


def test_post_by_qualified_name_runs_the_plugins_step(rd, tmp_path):
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(src)
    result = run_cli(["post", "rd.halftone", "-i", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    out = Image.open(tmp_path / "out" / "in.png").convert("RGB")
    r, g, b = out.getpixel((0, 0))
    assert r == g == b  # rd's grey, not post's halftone dots in red


def test_prefer_makes_a_plugin_win(rd, monkeypatch):
    monkeypatch.setenv("ARTKIT_PREFER", "rd")
    result = run_cli(["list", "post", "--json"])
    names = _names(result)
    assert names["halftone"] == "rd" and names["post.halftone"] == "post"
    assert "warning" not in result.stderr  # the user chose
    assert get_registry("models").get("dcgan").plugin == "rd"


def test_unimportable_lazy_factory_is_one_line(rd, tmp_path):
    result = run_cli(["-q", "train", "rd-broken", *TRAIN, "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("artkit: error: plugin 'rd' cannot load model 'rd-broken'")
    assert "'rd_missing_module.nets:Net' (registered at test_plugin_clashes.py:" in lines[0]
    assert "No module named 'rd_missing_module'" in lines[0]
    assert "ARTKIT_DISABLE_PLUGINS=rd" in lines[0]
    verbose = run_cli(["-v", "train", "rd-broken", *TRAIN, "--out", str(tmp_path / "y")])
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr


def test_quiet_hides_warnings_not_failures_and_verbose_adds_tracebacks(rd):
    class Bad:
        @artkit.hookimpl
        def register_postprocessors(self, register):
            raise RuntimeError("boom")

    with plugin_registered(Bad(), name="bad"):
        quiet = run_cli(["-q", "list", "post", "--json"])
        assert quiet.exit_code == 0
        assert "warning" not in quiet.stderr
        (line,) = quiet.stderr.strip().splitlines()
        assert line.startswith("artkit: error: plugin 'bad' failed in register_postprocessors: ")
        assert "RuntimeError: boom (test_plugin_clashes.py:" in line
        assert line.endswith("or disable it with ARTKIT_DISABLE_PLUGINS=bad")
    with plugin_registered(Bad(), name="bad"):
        loud = run_cli(["-v", "list", "post", "--json"])
        assert "Traceback" in loud.stderr and "raise RuntimeError" in loud.stderr


def test_loose_file_with_the_same_clash(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "rdfile.py").write_text(
        textwrap.dedent("""
            import artkit

            @artkit.hookimpl
            def register_postprocessors(register):
                register("halftone", lambda image: image, description="loose")
        """)
    )
    result = run_cli(["--plugins-dir", str(folder), "list", "post", "--json"])
    names = _names(result)
    assert names["halftone"] == "post" and names["rdfile.halftone"] == "rdfile"
    assert "'post' wins: use rdfile.halftone" in result.stderr


CLASH_PACKAGE = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "aa-clash"
        version = "0.1.0"

        [project.entry-points.artkit]
        aaclash = "aa_clash"
        aabroken = "aa_clash.broken"

        [tool.setuptools]
        packages = ["aa_clash"]
    """,
    "aa_clash/__init__.py": """
        import artkit

        @artkit.hookimpl
        def register_postprocessors(register):
            register("halftone", lambda image: image, description="aa's")
    """,
    "aa_clash/broken.py": "import aa_clash_needs_libfoo\n",
}


def test_installed_entry_point_plugin_never_breaks_the_builtins(tmp_path):
    """A real install: its entry points come before artkit's on sys.path (the old bug)."""
    from tests.test_plugin_package import artkit as artkit_in
    from tests.test_plugin_package import make_env

    for rel, text in CLASH_PACKAGE.items():
        (tmp_path / "pkg" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / rel).write_text(textwrap.dedent(text))
    python = make_env(tmp_path / "venv")
    result = artkit_in(python, "plugins", "install", str(tmp_path / "pkg"), "--no-build-isolation")
    assert result.returncode == 1, result.stderr
    assert "plugin aaclash: postprocessors: halftone" in result.stdout
    assert "plugin aaclash clashes: halftone (post has it; use aaclash.halftone)" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("artkit: error: installed ") and "plugin 'aabroken' import failed" in last
    )
    assert "aa_clash_needs_libfoo" in last and "Traceback" not in result.stderr
    listed = artkit_in(python, "list", "post", "--json")
    names = {d["name"]: d["plugin"] for d in map(json.loads, listed.stdout.splitlines())}
    assert listed.returncode == 0 and names["halftone"] == "post" and "grade" in names
    assert names["aaclash.halftone"] == "aaclash"
