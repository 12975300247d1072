"""Slice against numpy.split, across opsets (Split's sizes are an input from opset 13)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Slice
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize(("axis", "sizes"), [(1, [1, 2, 3]), (-1, [2, 3]), (2, [4])])
def test_slice(axis: int, sizes: list[int], opset: int) -> None:
    shape = (2, 6, 4, 5)
    outs = [f"part{i}" for i in range(len(sizes))]
    shapes = {"x": shape}
    for name, size in zip(outs, sizes, strict=True):
        part = list(shape)
        part[axis] = size
        shapes[name] = tuple(part)
    node = Slice(name="slice", inputs=["x"], outputs=outs, axis=axis, sizes=sizes)
    model = check(graph_of(node, shapes), lambda x: np.split(x, np.cumsum(sizes)[:-1], axis=axis), opset=opset)
    assert ops(model) == ["Split"]
