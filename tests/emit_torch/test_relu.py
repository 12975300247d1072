"""Relu and leaky Relu against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Relu
from emit_torch.helpers import check, graph_of


def test_relu() -> None:
    graph = graph_of(Relu(name="relu1", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x: np.maximum(x, 0))
    assert emitted.kinds() == ["ReLU"] and emitted.export.taps == {"layers.relu1": ("y",)}


def test_negative_slope_is_leaky_relu() -> None:
    node = Relu(name="leaky", inputs=["x"], outputs=["y"], negative_slope=0.1)
    emitted = check(graph_of(node, {"x": (2, 6), "y": (2, 6)}), lambda x: np.where(x > 0, x, np.float32(0.1) * x))
    assert emitted.kinds() == ["LeakyReLU"]
