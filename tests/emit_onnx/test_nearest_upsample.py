"""NearestUpsample against numpy.repeat (y[i, j] = x[i // sh, j // sw])."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import NearestUpsample
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize(("scale", "opset"), [((2, 2), 17), ((3, 3), 13), ((2, 3), 21)])
def test_nearest_upsample(scale: tuple, opset: int) -> None:
    node = NearestUpsample(name="up", inputs=["x"], outputs=["y"], scale=scale)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4 * scale[0], 5 * scale[1])})
    model = check(graph, lambda x: np.repeat(np.repeat(x, scale[0], axis=2), scale[1], axis=3), opset=opset)
    assert ops(model) == ["Reshape", "Expand", "Reshape"]
