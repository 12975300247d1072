"""Sigmoid against its closed form."""

from __future__ import annotations

import numpy as np

from converter.ir import Sigmoid
from emit_torch.helpers import check, graph_of


def test_sigmoid() -> None:
    graph = graph_of(Sigmoid(name="sig", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32))
    assert emitted.kinds() == ["Sigmoid"]
