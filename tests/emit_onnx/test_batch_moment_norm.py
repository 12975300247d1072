"""BatchMomentNorm against its docstring in numpy (raw moments per channel, then factor and addend)."""

from __future__ import annotations

import pytest

from converter.ir import BatchMomentNorm
from emit_common import batch_moment_norm
from emit_onnx.helpers import check, graph_of, ops, rand


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (2, 3, 7)])
def test_batch_moment_norm(shape: tuple[int, ...], opset: int) -> None:
    # ReduceMean takes its axes as an attribute up to opset 17 and as an input from 18 on.
    gamma, beta = rand((3,), 1, 0.5, 2.0), rand((3,), 2)
    node = BatchMomentNorm(name="bn", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, eps=1e-3)
    graph = graph_of(node, {"x": shape, "y": shape})
    # Inputs far from zero mean and unit variance, so neither moment can be skipped unnoticed.
    model = check(graph, lambda x: batch_moment_norm(x, gamma, beta, 1e-3), opset=opset, batches=(1, 2, 5),
                  inputs={"x": lambda s, seed: rand(s, seed, 3.0, 9.0)}, rtol=1e-4, atol=1e-4)
    assert "BatchNormalization" not in ops(model) and model.graph.node[-1].name == "bn"
