"""Clip against numpy: ReLU6's [0, 6] as nn.ReLU6, another range as nn.Hardtanh."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Clip
from emit_torch.helpers import check, graph_of, rand


@pytest.mark.parametrize(("low", "high", "kind"), [(0.0, 6.0, "ReLU6"), (-1.5, 0.5, "Hardtanh")])
def test_clip(low: float, high: float, kind: str) -> None:
    node = Clip(name="clip", inputs=["x"], outputs=["y"], low=low, high=high)
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}),
                    lambda x: np.minimum(np.maximum(x, low), high),
                    inputs={"x": lambda shape, seed: rand(shape, seed, -9, 9)})
    assert emitted.kinds() == [kind]
