"""Tanh against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Tanh
from emit_torch.helpers import check, graph_of


def test_tanh() -> None:
    graph = graph_of(Tanh(name="tanh", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, np.tanh)
    assert emitted.kinds() == ["Tanh"]
