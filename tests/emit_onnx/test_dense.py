"""Dense against numpy matrix products."""

from __future__ import annotations

import pytest

from converter.ir import Dense
from emit_onnx.helpers import check, graph_of, initializers, node_names, ops, rand


def dense(in_shape: tuple[int, ...], axis: int, out: int, bias: bool = True) -> tuple:
    k = 1
    for d in in_shape[axis:]:
        k *= d
    weight, b = rand((out, k), 1), rand((out,), 2) if bias else None
    node = Dense(name="fc", inputs=["x"], outputs=["y"], weight=weight, bias=b, axis=axis)
    graph = graph_of(node, {"x": in_shape, "y": (*in_shape[:axis], out)})
    return graph, weight, b


def test_2d_input_is_one_gemm() -> None:
    graph, w, b = dense((2, 6), 1, 4)
    model = check(graph, lambda x: x @ w.T + b, rtol=1e-4, atol=1e-5)
    assert ops(model) == ["Gemm"] and node_names(model) == ["fc"]
    assert set(initializers(model)) == {"fc.weight", "fc.bias"}


@pytest.mark.parametrize("bias", [True, False])
def test_4d_input_flattened(bias: bool) -> None:
    graph, w, b = dense((2, 3, 4, 5), 1, 7, bias)
    model = check(graph, lambda x: x.reshape(x.shape[0], -1) @ w.T + (b if bias else 0), rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Flatten", "Gemm"] and node_names(model) == ["fc/flatten", "fc"]


def test_axis_2_keeps_leading_dims() -> None:
    graph, w, b = dense((2, 3, 4, 5), 2, 6)
    model = check(graph, lambda x: x.reshape(x.shape[0], 3, 20) @ w.T + b, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Flatten", "Gemm", "Reshape"] and node_names(model)[-1] == "fc"
