"""Concat against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Concat
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize("axis", [1, 3, -1])
def test_concat(axis: int) -> None:
    shapes = [(2, 3, 4, 5), (2, 3, 4, 5)]
    if axis == 1:
        shapes = [(2, 3, 4, 5), (2, 1, 4, 5)]
    out = list(shapes[0])
    out[axis] = shapes[0][axis] + shapes[1][axis]
    node = Concat(name="fire2/concat", inputs=["a", "b"], outputs=["fire2/concat"], axis=axis)
    model = check(graph_of(node, {"a": shapes[0], "b": shapes[1], "fire2/concat": tuple(out)}),
                  lambda a, b: np.concatenate([a, b], axis=axis))
    assert ops(model) == ["Concat"] and model.graph.output[0].name == "fire2/concat"
