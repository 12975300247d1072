"""PRelu (per channel and shared) against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import PRelu
from emit_onnx.helpers import check, graph_of, initializers, ops


def test_per_channel_4d() -> None:
    slope = np.array([0.1, -0.5, 2.0], np.float32)
    node = PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x: np.where(x > 0, x, slope.reshape(1, 3, 1, 1) * x))
    assert ops(model) == ["PRelu"]
    assert initializers(model)["prelu.slope"].shape == (3, 1, 1)


def test_per_channel_2d() -> None:
    slope = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    graph = graph_of(PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope), {"x": (2, 4), "y": (2, 4)})
    check(graph, lambda x: np.where(x > 0, x, slope * x))


def test_shared_slope() -> None:
    slope = np.array(0.25, np.float32)  # shared: a scalar, as the IR says
    node = PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope)
    graph = graph_of(node, {"x": (1, 3, 4, 4), "y": (1, 3, 4, 4)})
    model = check(graph, lambda x: np.where(x > 0, x, np.float32(0.25) * x))
    assert initializers(model)["prelu.slope"].shape == (1,)
