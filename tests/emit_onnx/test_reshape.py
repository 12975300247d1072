"""Reshape against numpy, at batch sizes other than the recorded one: the IR's target (written by the
lift to hold for any batch size) reaches ONNX as given."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Reshape
from emit_onnx.helpers import check, graph_of, initializers, ops

CASES = {
    # (IR shape, output shape at batch 2, expected output as a function of x)
    "copy_and_infer": ((0, -1, 2), (2, 30, 2), lambda x: x.reshape(x.shape[0], 30, 2)),
    "inferred_batch": ((-1, 3, 20), (2, 3, 20), lambda x: x.reshape(x.shape[0], 3, 20)),
    "batch_merged": ((-1, 5), (24, 5), lambda x: x.reshape(-1, 5)),
    "to_2d": ((0, -1), (2, 60), lambda x: x.reshape(x.shape[0], -1)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reshape(case: tuple) -> None:
    shape, out, expected = case
    node = Reshape(name="reshape", inputs=["x"], outputs=["y"], shape=shape)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": out}), expected)
    assert ops(model) == ["Reshape"]
    target = initializers(model)["reshape.shape"]
    assert 2 not in target[:1]  # the recorded batch size is never baked in
    assert target.dtype == np.int64
