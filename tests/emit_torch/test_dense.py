"""Dense against numpy: x flattened from `axis` on, times weight.T, plus bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from converter.ir import Dense, Graph
from emit_torch.helpers import check, graph_of, rand


def dense(in_shape: tuple[int, ...], axis: int, out: int, bias: bool = True) -> tuple[Graph, np.ndarray, object]:
    weight, b = rand((out, math.prod(in_shape[axis:])), 1), rand((out,), 2) if bias else None
    node = Dense(name="fc", inputs=["x"], outputs=["y"], weight=weight, bias=b, axis=axis)
    return graph_of(node, {"x": in_shape, "y": (*in_shape[:axis], out)}), weight, b


def test_2d_input() -> None:
    graph, w, b = dense((2, 6), 1, 4)
    emitted = check(graph, lambda x: x @ w.T + b, rtol=1e-4, atol=1e-5)
    assert emitted.kinds() == ["Dense"] and emitted.shapes() == {"layers.fc.weight": (4, 6), "layers.fc.bias": (4,)}


@pytest.mark.parametrize("bias", [True, False])
def test_4d_input_flattened(bias: bool) -> None:
    graph, w, b = dense((2, 3, 4, 5), 1, 7, bias)
    emitted = check(graph, lambda x: x.reshape(x.shape[0], -1) @ w.T + (b if bias else 0), rtol=1e-4, atol=1e-4)
    assert set(emitted.shapes()) == ({"layers.fc.weight", "layers.fc.bias"} if bias else {"layers.fc.weight"})


def test_axis_2_keeps_leading_dims() -> None:
    graph, w, b = dense((2, 3, 4, 5), 2, 6)
    check(graph, lambda x: x.reshape(x.shape[0], 3, 20) @ w.T + b, rtol=1e-4, atol=1e-4)
