"""Flatten against numpy reshapes; the batch stays symbolic."""

from __future__ import annotations

import pytest

from converter.ir import Flatten
from emit_onnx.helpers import check, graph_of, ops

CASES = {
    # (axis, end_axis, output dims after the batch, expected op)
    "all": (1, -1, (60,), "Flatten"),
    "from_axis_2": (2, -1, (3, 20), "Reshape"),
    "middle": (1, 2, (12, 5), "Reshape"),
    "negative_end": (2, -2, (3, 4, 5), "Reshape"),
    "negative_axis": (-3, -2, (12, 5), "Reshape"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_flatten(case: tuple) -> None:
    axis, end_axis, dims, op = case
    node = Flatten(name="flat", inputs=["x"], outputs=["y"], axis=axis, end_axis=end_axis)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, *dims)}), lambda x: x.reshape(x.shape[0], *dims))
    assert ops(model) == [op]
