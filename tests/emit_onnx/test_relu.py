"""Relu and leaky Relu against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Relu
from emit_onnx.helpers import check, graph_of, ops


def test_relu() -> None:
    graph = graph_of(Relu(name="relu1", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x: np.maximum(x, 0))
    assert ops(model) == ["Relu"] and model.graph.node[0].name == "relu1"


def test_negative_slope_is_leaky_relu() -> None:
    node = Relu(name="leaky", inputs=["x"], outputs=["y"], negative_slope=0.1)
    graph = graph_of(node, {"x": (2, 6), "y": (2, 6)})
    model = check(graph, lambda x: np.where(x > 0, x, np.float32(0.1) * x))
    assert ops(model) == ["LeakyRelu"]
