"""Softmax against numpy (max-shifted exponentials over the axis)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Softmax
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize(("shape", "axis"), [((2, 5, 3, 3), 1), ((2, 5, 3, 4), 3), ((2, 7), 1), ((2, 3, 4), 2)])
def test_softmax(shape: tuple[int, ...], axis: int) -> None:
    graph = graph_of(Softmax(name="prob", inputs=["x"], outputs=["y"], axis=axis), {"x": shape, "y": shape})

    def expected(x: np.ndarray) -> np.ndarray:
        e = np.exp(x.astype(np.float64) - x.max(axis=axis, keepdims=True))
        return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)

    emitted = check(graph, expected)
    assert emitted.kinds() == ["Softmax"]
