"""BatchNorm against (x - mean) / sqrt(var + eps) in numpy, with stored or batch statistics."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import BatchNorm
from emit_common import batch_statistics_norm
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


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (2, 3, 7), (6,)])
def test_batch_statistics(shape: tuple[int, ...], opset: int) -> None:
    # ReduceMean takes its axes as an attribute up to opset 17 and as an input from 18 on.
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=None, var=None, eps=1e-3, batch_statistics=True)
    graph = graph_of(node, {"x": shape, "y": shape})
    # Inputs far from zero mean and unit variance, so neither statistic can be skipped unnoticed.
    model = check(graph, lambda x: batch_statistics_norm(x, 1e-3), opset=opset, batches=(1, 2, 5),
                  inputs={"x": lambda s, seed: rand(s, seed, 3.0, 9.0)}, rtol=1e-4, atol=1e-4)
    assert "BatchNormalization" not in ops(model) and model.graph.node[-1].name == "bn"
    assert not [t for t in model.graph.initializer if t.name in ("bn.mean", "bn.var")]
