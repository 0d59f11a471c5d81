"""Which memory layout a tensor is stored in, for layers that keep it.

On CPU artkit trains conv networks channels-last; a few layers (:mod:`artkit.nn.glu`,
:mod:`artkit.nn.small_conv`, :mod:`artkit.nn.batch_norm`) take their own path on such
maps and must produce results in the same layout.
"""

from __future__ import annotations

import torch
from torch import Tensor


def layout_of(x: Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a 4-d tensor stored only that way, else ``contiguous_format``."""
    if (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format
