"""``artkit.nn.glu.GLU``: ``nn.GLU``'s values and gradients, in the input's memory layout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artkit.nn.glu import GLU

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_values_and_gradients_are_nn_glu_and_keep_the_layout(fmt, dtype):
    torch.manual_seed(0)
    x = torch.randn(3, 8, 5, 6, dtype=dtype).contiguous(memory_format=fmt)
    grad = torch.randn(3, 4, 5, 6, dtype=dtype).contiguous(memory_format=fmt)
    ours_x, ref_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours, ref = GLU(dim=1)(ours_x), nn.GLU(dim=1)(ref_x)
    ours.backward(grad)
    ref.backward(grad)
    tol = 1e-2 if dtype == torch.bfloat16 else 1e-6
    assert torch.allclose(ours.float(), ref.float(), atol=tol)
    assert torch.allclose(ours_x.grad.float(), ref_x.grad.float(), atol=tol)
    assert ours.is_contiguous(memory_format=fmt)
    assert ours_x.grad.is_contiguous(memory_format=fmt)  # nn.GLU's is NCHW, whatever x was


def test_other_dimensions_and_shapes():
    torch.manual_seed(0)
    for shape, dim in (((4, 6), -1), ((2, 6, 3), 1), ((2, 3, 4, 4), 2)):
        x = torch.randn(shape, requires_grad=True)
        y = GLU(dim=dim)(x)
        y.sum().backward()
        ref_x = x.detach().clone().requires_grad_()
        nn.GLU(dim=dim)(ref_x).sum().backward()
        assert torch.allclose(y, nn.GLU(dim=dim)(x.detach()), atol=1e-6)
        assert torch.allclose(x.grad, ref_x.grad, atol=1e-6)
