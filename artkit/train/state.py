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


def match_param_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each loaded state tensor (Adam's moments) its parameter's memory layout.

    A file gives them back contiguous, while a channels-last parameter's fresh moments
    are channels-last; the fused Adam kernel walks parameter and moments as flat
    memory, so a mismatch would pair the wrong elements, and the foreach one would run
    a slower mixed-layout path. Exact resume needs the layout a fresh run had.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            slots = optimizer.state.get(param, {})
            for key, value in slots.items():
                if (
                    torch.is_tensor(value)
                    and value.shape == param.shape
                    and value.stride() != param.stride()
                ):
                    slots[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def generator_state(gen: torch.Generator) -> torch.Tensor:
    return gen.get_state()


def pack(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return tensors, {"artkit.train_state": json.dumps(meta, sort_keys=True)}


def unpack_meta(metadata: dict[str, str]) -> dict[str, Any]:
    raw = metadata.get("artkit.train_state")
    return json.loads(raw) if raw else {}
