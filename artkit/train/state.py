"""Training state <-> safetensors: optimisers, RNG states, counters, grad scaler.

Exact resume needs everything that influences the next step. Tensors go into a
safetensors file under readable keys (``optim.D.state.3.exp_avg``); the small
non-tensor parts (param groups, counters) go into its string metadata as JSON.
No pickle anywhere.
"""

from __future__ import annotations

import json
from typing import Any

import torch


def flatten_optimizer(
    prefix: str, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, slots in sd["state"].items():
        for key, value in slots.items():
            name = f"{prefix}.state.{index}.{key}"
            if torch.is_tensor(value):
                tensors[name] = value
            else:
                scalars[name] = value
    meta = {"param_groups": sd["param_groups"], "scalars": scalars}
    return tensors, meta


def unflatten_optimizer(
    prefix: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    start = f"{prefix}.state."
    for name, value in list(tensors.items()) + list(meta.get("scalars", {}).items()):
        if not name.startswith(start):
            continue
        index, key = name[len(start) :].split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def generator_state(gen: torch.Generator) -> torch.Tensor:
    return gen.get_state()


def pack(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return tensors, {"artkit.train_state": json.dumps(meta, sort_keys=True)}


def unpack_meta(metadata: dict[str, str]) -> dict[str, Any]:
    raw = metadata.get("artkit.train_state")
    return json.loads(raw) if raw else {}
