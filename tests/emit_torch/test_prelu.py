"""PRelu against numpy: per channel (dim 1) or one shared slope."""

from __future__ import annotations

import numpy as np

from converter.ir import PRelu
from emit_torch.helpers import check, graph_of


def test_per_channel_4d() -> None:
    slope = np.array([0.1, -0.5, 2.0], np.float32)
    node = PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope)
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}),
                    lambda x: np.where(x > 0, x, slope.reshape(1, 3, 1, 1) * x))
    assert emitted.kinds() == ["PReLU"] and emitted.shapes() == {"layers.prelu.weight": (3,)}


def test_per_channel_2d() -> None:
    slope = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    graph = graph_of(PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope), {"x": (2, 4), "y": (2, 4)})
    check(graph, lambda x: np.where(x > 0, x, slope * x))


def test_shared_slope() -> None:
    slope = np.array([0.25], np.float32)
    node = PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope)
    emitted = check(graph_of(node, {"x": (1, 3, 4, 4), "y": (1, 3, 4, 4)}),
                    lambda x: np.where(x > 0, x, np.float32(0.25) * x))
    assert emitted.shapes() == {"layers.prelu.weight": (1,)}
