"""``artkit info PATH``: what a checkpoint or an image is and how it was made. No torch."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonLines
from artkit.errors import UsageError


def checkpoint_info(path: Path) -> dict[str, Any]:
    from artkit.checkpoint import read_header, sha256_file
    from artkit.schema import SCHEMA, SCHEMA_KEY, schema_of

    header = read_header(path)
    schema = schema_of(header.metadata, path)
    if schema == SCHEMA:
        schema_note = "current"
    elif schema < SCHEMA:
        schema_note = (
            f"older: loads through a migration; `artkit checkpoint upgrade` writes a "
            f"schema-{SCHEMA} copy"
        )
    else:
        writer = header.metadata.get("artkit.version", "an unknown version")[:40]
        schema_note = f"newer than this artkit reads (1 to {SCHEMA}), written by artkit {writer}"
    networks: dict[str, int] = {}
    for name, t in header.tensors.items():
        networks[name.split(".", 1)[0]] = networks.get(name.split(".", 1)[0], 0) + t.numel
    return {
        "path": str(path),
        "type": "checkpoint",
        "model": header.model,
        "config": header.config,
        "step": header.step,
        "schema": schema,
        "schema_note": schema_note,
        "tensors": len(header.tensors),
        "parameters": header.parameter_count,
        "networks": networks,
        "size": header.file_size,
        "sha256": sha256_file(path),
        "metadata": {
            k: v
            for k, v in header.metadata.items()
            if k not in ("artkit.config", "artkit.model", "artkit.step", SCHEMA_KEY)
        },
    }


def attach(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Checkpoints (.safetensors) or images; none = read paths from stdin."
            ),
        ] = None,
        as_json: JsonLines = False,
    ) -> None:
        """Explain a checkpoint (model, config, step, parameters, sha256) or an image's (or other output's) provenance."""
        from artkit.records import read_records

        for record in read_records([str(p) for p in paths or []], expand=False):
            path = Path(record.path)
            if not path.exists():
                raise UsageError(f"{path}: no such file")
            if path.suffix == ".safetensors":
                data = checkpoint_info(path)
            elif path.suffix in (".pt", ".pth", ".ckpt", ".bin"):
                from artkit.checkpoint import read_header

                read_header(path)  # raises the pickle refusal with its hint
                continue
            else:
                from artkit.media import ImageMedium, medium_for_path

                medium = medium_for_path(path)
                if medium is not None and medium is not ImageMedium:
                    # a plugin's medium (MIDI, audio...) reads its own provenance carrier
                    prov = medium.read_provenance(path)
                    data = {"path": str(path), "type": medium.name, "provenance": prov}
                else:
                    from artkit.images import image_info

                    data = {"path": str(path), "type": "image", **image_info(path)}
            if as_json:
                print(json.dumps(data, sort_keys=True))
            else:
                _print_human(data)


def _print_human(data: dict[str, Any]) -> None:
    # every value shown here may come from someone else's file: escape control characters
    from artkit.errors import printable

    def print(text: str) -> None:  # shadows the builtin: the one way this function writes
        builtins.print(printable(text))

    print(f"{data['path']}")
    if data["type"] == "checkpoint":
        print(f"  model       {data['model'] or '(not an artkit model)'}")
        print(f"  step        {data['step']}")
        print(f"  schema      {data['schema']} ({data['schema_note']})")
        print(f"  tensors     {data['tensors']}")
        print(f"  parameters  {data['parameters']:,}")
        for net, count in data["networks"].items():
            print(f"    {net:<10} {count:,}")
        print(f"  size        {data['size']:,} bytes")
        print(f"  sha256      {data['sha256']}")
        if data["config"]:
            print(f"  config      {json.dumps(data['config'], sort_keys=True)}")
        for key, value in sorted(data["metadata"].items()):
            print(f"  {key:<11} {value}")
        return
    if data["type"] == "image":
        print(
            f"  image       {data.get('format')} {data.get('width')}x{data.get('height')} {data.get('mode')}"
        )
    else:
        print(f"  {data['type']:<11} (a medium registered by a plugin)")
    prov = data.get("provenance")
    if not prov:
        print("  provenance  none (not made by artkit, or metadata stripped)")
        return
    for key, value in prov.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        print(f"  {key:<11} {text}")
