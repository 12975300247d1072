"""BatchNorm against (x - mean) / sqrt(var + eps) in numpy."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import BatchNorm
from emit_onnx.helpers import check, graph_of, ops, rand


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3)])
def test_batch_norm(shape: tuple[int, ...]) -> None:
    mean = rand((3,), 1)
    var = rand((3,), 2, 0.1, 3.0)
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=mean, var=var, eps=1e-3)
    graph = graph_of(node, {"x": shape, "y": shape})
    trailing = (1,) * (len(shape) - 2)
    model = check(graph, lambda x: ((x - mean.reshape(3, *trailing)) / np.sqrt(var.reshape(3, *trailing) + 1e-3)))
    assert ops(model) == ["BatchNormalization"] and model.graph.node[0].name == "bn"
