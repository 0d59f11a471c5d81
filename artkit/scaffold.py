"""``artkit plugins new NAME``: the files of a new plugin package, ready to install and test.

The scaffold is a working plugin, not a stub: one post-processor with typed,
validated parameters, registered the way the built-ins register theirs, and a
test suite that runs artkit's conformance check on it and drives it through the
real command line. Replace the step with your own and keep the shape.
"""

from __future__ import annotations

import re
from pathlib import Path

from artkit.errors import UsageError

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{project}"
version = "0.1.0"
description = "An artkit plugin."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["artkit>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This table makes the package an artkit plugin named "{name}".
[project.entry-points.artkit]
{name} = "{module}"

[tool.setuptools]
packages = ["{module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "TID", "SIM", "RUF"]

[tool.ruff.lint.flake8-tidy-imports]
# artkit imports every plugin when it starts: import these inside functions only...
banned-module-level-imports = ["torch", "torchvision", "numpy"]

[tool.ruff.lint.per-file-ignores]
# ...except in modules only ever loaded lazily, through a "module:attr" factory string:
# name them torch_*.py (a model) or nn_*.py (layers, losses), as artkit's own plugins do
"**/torch_*.py" = ["TID253"]
"**/nn_*.py" = ["TID253"]
"tests/**" = ["TID253"]
"""

README = """\
# {project}

An artkit plugin. It registers the post-processor `{step}`:

```sh
artkit sample runs/my-model -n 8 -o raw | artkit post {step}:amount=0.5 -o tinted
```

Develop and test:

```sh
artkit plugins install -e '.[test]'   # into artkit's own environment, with pytest
python -m pytest                      # runs tests/ with that environment's Python
artkit plugins                        # shows "{name}" and what it registered
```

(`python -m pytest`, not `pytest`: a `pytest` found first on PATH may belong to
another Python, one without artkit and this plugin.)

Add models, losses, datasets, feature extractors or commands with more hooks in
`{module}/__init__.py` (artkit's README lists every hook with an example), and
check each with `artkit.testing` (`check_model`, `check_loss`, `check_dataset`...).
Code that imports torch goes in modules named `torch_*.py` (or `nn_*.py`), registered
as `"{module}.torch_model:build"` strings so they load only when used; the ruff
config here allows module-level torch imports in those files alone.
Publish with `python -m build` and `twine upload dist/*`.
"""

INIT = '''\
"""{project}: an artkit plugin.

Keep this module light -- no torch or numpy at import time: artkit imports every
plugin when it starts, and ``artkit --help`` must stay fast. Register factories
as ``"module:attr"`` strings; artkit imports them the first time they are used.
"""

from dataclasses import dataclass, field

from artkit import hookimpl
from artkit.errors import UsageError


@dataclass
class TintConfig:
    """Tint a picture toward a colour (amount 0 keeps it, 1 paints it over)."""

    amount: float = field(default=0.3, metadata={{"help": "how far toward the colour, 0-1"}})
    color: str = field(default="orange", metadata={{"help": "a Pillow colour name or #rrggbb"}})

    def __post_init__(self):
        if not isinstance(self.amount, int | float) or not 0 <= self.amount <= 1:
            raise UsageError(f"{step}: amount={{self.amount!r}} must be a number from 0 to 1")
        from PIL import ImageColor

        try:
            ImageColor.getrgb(self.color)
        except ValueError:
            raise UsageError(f"{step}: color={{self.color!r}} is not a colour") from None


@hookimpl
def register_postprocessors(register):
    register(
        "{step}",
        "{module}.steps:tint",  # imported the first time the step is used
        description=TintConfig.__doc__,
        params=TintConfig,
        keeps_size=True,  # a promise artkit.testing.check_postprocessor holds it to
    )
'''

STEPS = '''\
"""The post-processing steps of {project}: PIL image in, PIL image out, no torch."""

from PIL import Image, ImageColor


def tint(image: Image.Image, amount: float = 0.3, color: str = "orange") -> Image.Image:
    rgb = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    colour = ImageColor.getrgb(color)[:3] + ((255,) if rgb.mode == "RGBA" else ())
    fill = Image.new(rgb.mode, rgb.size, colour)
    out = Image.blend(rgb, fill, amount)
    if rgb.mode == "RGBA":
        out.putalpha(rgb.getchannel("A"))  # the tint never changes transparency
    return out
'''

TEST = '''\
"""Tests for {project}: artkit's conformance check, then the real command line."""

from artkit.testing import check_postprocessor, run_cli, tiny_images
from PIL import Image


def test_{ident}_passes_the_artkit_conformance_check():
    check_postprocessor("{step}")


def test_{ident}_tints_through_the_cli(tmp_path):
    source = tmp_path / "in.png"
    tiny_images(1, 16)[0].save(source)
    step = "{step}:amount=1,color=red"
    result = run_cli(["post", step, "-i", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    tinted = Image.open(result.stdout.strip())
    assert tinted.size == (16, 16)
    assert tinted.convert("RGB").getpixel((8, 8)) == (255, 0, 0)


def test_a_bad_amount_is_a_one_line_error():
    result = run_cli(["post", "{step}:amount=3", "-i", "x.png"])
    assert result.exit_code == 2
    assert "amount=3.0 must be a number from 0 to 1" in result.stderr
'''


def plugin_names(name: str) -> dict[str, str]:
    """``tint`` -> project ``artkit-plugin-tint``, module ``artkit_plugin_tint``, entry point ``tint``.

    The ``artkit-plugin-`` prefix (the example plugin's, and the README's advice for
    published names) keeps plugins apart from artkit's own distributions on an index.
    """
    if not _NAME.match(name):
        raise UsageError(
            f"plugin name {name!r}: use lowercase letters, digits and single dashes, e.g. my-glitch"
        )
    short = name.removeprefix("artkit-").removeprefix("plugin-") or name
    project = f"artkit-plugin-{short}"
    module = project.replace("-", "_")
    return {
        "name": short,
        "project": project,
        "module": module,
        "step": f"{short}-tint",
        "ident": short.replace("-", "_"),
    }


def scaffold(name: str, target: Path | None = None) -> Path:
    """Write a new plugin package for ``name``; refuses a non-empty target folder."""
    names = plugin_names(name)
    root = target or Path(names["project"])
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"{root}: already exists and is not an empty folder")
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{names['module']}/__init__.py": INIT,
        f"{names['module']}/steps.py": STEPS,
        "tests/test_plugin.py": TEST,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**names), encoding="utf-8")
    return root
