"""Sigmoid against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Sigmoid
from emit_onnx.helpers import check, graph_of, ops


def test_sigmoid() -> None:
    graph = graph_of(Sigmoid(name="sig", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32))
    assert ops(model) == ["Sigmoid"]
