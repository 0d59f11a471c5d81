from dataclasses import dataclass, field
from typing import Literal

import pytest

from artkit.errors import DuplicateNameError, UnknownNameError, UsageError
from artkit.registry import Param, Registry, params_from, parse_spec


@dataclass
class Cfg:
    path: str
    size: int = 64
    scale: float = 1.0
    flip: bool = False
    mode: Literal["crop", "pad"] = "crop"
    note: str = field(default="x", metadata={"help": "a note"})


def test_parse_spec_plain_and_options():
    assert parse_spec("dcgan") == ("dcgan", {})
    assert parse_spec("palette:colors=8,dither=floyd") == (
        "palette",
        {"colors": "8", "dither": "floyd"},
    )
    assert parse_spec('palette:colors="#000,#fff",n=2') == (
        "palette",
        {"colors": "#000,#fff", "n": "2"},
    )
    with pytest.raises(UsageError, match="expected key=value"):
        parse_spec("palette:colors")
    with pytest.raises(UsageError):
        parse_spec(":x=1")


def test_params_from_dataclass_types_defaults_and_help():
    params = {p.name: p for p in params_from(Cfg)}
    assert params["path"].required
    assert params["size"].type is int and params["size"].default == 64
    assert params["mode"].choices == ("crop", "pad")
    assert params["note"].help == "a note"


def test_bind_converts_and_validates():
    reg = Registry("datasets")
    entry = reg.add("folder", lambda **kw: kw, params=Cfg, plugin="p")
    bound = entry.bind({"path": "art", "size": "32", "scale": "0.5", "flip": "yes"})
    assert bound == {
        "path": "art",
        "size": 32,
        "scale": 0.5,
        "flip": True,
        "mode": "crop",
        "note": "x",
    }
    with pytest.raises(UsageError, match="size='big' is not a valid int"):
        entry.bind({"path": "a", "size": "big"})
    with pytest.raises(UsageError, match="is not one of: crop, pad"):
        entry.bind({"path": "a", "mode": "zoom"})
    with pytest.raises(UsageError, match="missing required parameter 'path'"):
        entry.bind({})
    with pytest.raises(UnknownNameError, match="did you mean 'size'"):
        entry.bind({"path": "a", "sise": "3"})


def test_duplicate_names_name_both_plugins():
    reg = Registry("models")
    reg.add("dcgan", "x:y", plugin="gan")
    with pytest.raises(DuplicateNameError, match="both plugin 'gan' and plugin 'other'"):
        reg.add("dcgan", "x:y", plugin="other")


def test_unknown_name_suggests_close_matches():
    reg = Registry("models")
    for name in ("dcgan", "mlp-gan", "vae"):
        reg.add(name, "x:y", plugin="p")
    with pytest.raises(UnknownNameError, match="unknown model 'dcgna'; did you mean 'dcgan'"):
        reg.get("dcgna")


def test_string_factories_are_imported_lazily():
    reg = Registry("models")
    entry = reg.add("lazy", "json:dumps", plugin="p")
    assert entry.factory_ref == "json:dumps"
    import json

    assert entry.factory is json.dumps


def test_param_convert_optional_and_literal():
    p = Param("seed", int | None, None)
    assert p.convert("none") is None and p.convert("3") == 3
