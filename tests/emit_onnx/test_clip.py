"""Clip against numpy (ReLU6's [0, 6] and another range)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Clip
from emit_onnx.helpers import check, graph_of, ops, rand


@pytest.mark.parametrize(("low", "high"), [(0.0, 6.0), (-1.5, 0.5)])
def test_clip(low: float, high: float) -> None:
    node = Clip(name="clip", inputs=["x"], outputs=["y"], low=low, high=high)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}),
                  lambda x: np.minimum(np.maximum(x, low), high),
                  inputs={"x": lambda shape, seed: rand(shape, seed, -9, 9)})
    assert ops(model) == ["Clip"]
