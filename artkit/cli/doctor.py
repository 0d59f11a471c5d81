"""``artkit doctor``: versions, accelerators, precisions, plugin health and optional assets.

Optional assets (:mod:`artkit.assets`: the emoji font, system fonts, ffmpeg,
pretrained weights, the ``samples`` extra, a GPU) are each shown as found or
missing, with the one line that installs a missing one and what works now.
"""

from __future__ import annotations

import json
import platform

import typer

from artkit.cli.options import JsonObject


def attach(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        as_json: JsonObject = False,
    ) -> None:
        """Check the installation: torch, accelerators, precisions, plugins, optional assets."""
        import torch

        from artkit import __version__, assets
        from artkit.cli.context import settings
        from artkit.device import available_devices, resolve_device, supported_precisions
        from artkit.plugins import get_host

        devices = available_devices()
        chosen = resolve_device(settings().device)
        report = {
            "artkit": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "cuda_build": torch.version.cuda,
            "threads": torch.get_num_threads(),
            "devices": {d: supported_precisions(torch.device(d)) for d in devices},
            "auto_device": str(chosen),
            "plugins": {i.name: i.error or i.status for i in get_host().plugin_infos()},
            "system_assets": "none" if assets.hidden() else "auto",
            "assets": [row.as_dict() for row in assets.reports()],
        }
        if as_json:
            print(json.dumps(report))
            return
        print(f"artkit   {report['artkit']}  (python {report['python']}, {report['platform']})")
        print(
            f"torch    {report['torch']}  (CUDA build: {report['cuda_build'] or 'none'}, {report['threads']} CPU threads)"
        )
        print("devices")
        for dev, precs in report["devices"].items():
            mark = (
                "*"
                if dev == report["auto_device"] or (dev == "cpu" and report["auto_device"] == "cpu")
                else " "
            )
            print(f"  {mark} {dev:<8} precisions: {', '.join(precs)}")
        print("plugins")
        broken = 0
        for name, status in report["plugins"].items():
            print(f"    {name:<12} {status}")
            broken += status not in ("loaded", "blocked")
        hidden = report["system_assets"] == "none"
        print("optional assets" + (" (hidden by ARTKIT_SYSTEM_ASSETS=none)" if hidden else ""))
        for row in report["assets"]:
            if row["found"]:
                print(f"  found   {row['name']:<18} {row['where']}")
            else:
                print(f"  missing {row['name']:<18} {row['description']}")
                print(f"          {'':<18} install: {row['install']}")
                if row["instead"]:
                    print(f"          {'':<18} now: {row['instead']}")
        print("ok" if not broken else f"{broken} plugin(s) need attention (see `artkit plugins`)")
