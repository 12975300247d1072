"""Axpy against numpy: a (one factor per sample and channel) * x + y."""

from __future__ import annotations

import pytest

from converter.ir import Axpy
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("factor", [(2, 3, 1, 1), (2, 3)])
def test_axpy(factor: tuple) -> None:
    node = Axpy(name="axpy", inputs=["a", "x", "y"], outputs=["out"])
    graph = graph_of(node, {"a": factor, "x": (2, 3, 4, 5), "y": (2, 3, 4, 5), "out": (2, 3, 4, 5)})
    emitted = check(graph, lambda a, x, y: a.reshape(a.shape[0], 3, 1, 1) * x + y)
    assert emitted.kinds() == ["Axpy"]
