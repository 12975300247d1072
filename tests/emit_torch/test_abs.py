"""Abs against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Abs
from emit_torch.helpers import check, graph_of


def test_abs() -> None:
    graph = graph_of(Abs(name="abs", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, np.abs)
    assert emitted.kinds() == ["Abs"] and emitted.export.state_dict == {}
