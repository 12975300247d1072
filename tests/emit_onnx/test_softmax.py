"""Softmax against torch.softmax over one axis, across opsets."""

from __future__ import annotations

import pytest
import torch

from converter.ir import Softmax
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize("axis", [1, 3, -1])
def test_softmax(axis: int, opset: int) -> None:
    node = Softmax(name="prob", inputs=["x"], outputs=["prob"], axis=axis)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "prob": (2, 3, 4, 5)}),
                  lambda x: torch.softmax(torch.from_numpy(x), axis).numpy(), opset=opset)
    assert ops(model) == ["Softmax"]


def test_softmax_2d() -> None:
    node = Softmax(name="prob", inputs=["x"], outputs=["prob"], axis=1)
    check(graph_of(node, {"x": (2, 10), "prob": (2, 10)}), lambda x: torch.softmax(torch.from_numpy(x), 1).numpy())
