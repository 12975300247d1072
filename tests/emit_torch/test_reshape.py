"""Reshape against numpy: a 0 copies the input's dim (the batch too), one -1 is inferred; with the
IR's target (written by the lift to hold for any batch size) the module follows the batch size."""

from __future__ import annotations

import pytest

from converter.ir import Reshape
from emit_torch.helpers import check, graph_of

CASES = {  # (input shape, IR shape, output shape at the recorded batch, expected output as a function of x)
    "copy_batch_infer": ((2, 3, 4, 5), (0, -1, 2), (2, 30, 2), lambda x: x.reshape(x.shape[0], 30, 2)),
    "copy_two": ((2, 3, 4, 5), (0, 0, 20), (2, 3, 20), lambda x: x.reshape(x.shape[0], 3, 20)),
    "to_2d": ((2, 3, 4, 5), (0, -1), (2, 60), lambda x: x.reshape(x.shape[0], 60)),
    "add_dims": ((2, 6), (0, 2, 3, 1), (2, 2, 3, 1), lambda x: x.reshape(x.shape[0], 2, 3, 1)),
    "inferred_batch": ((2, 3, 4, 5), (-1, 3, 20), (2, 3, 20), lambda x: x.reshape(x.shape[0], 3, 20)),
    "batch_merged": ((2, 3, 4, 5), (-1, 5), (24, 5), lambda x: x.reshape(-1, 5)),
    "batch_merged_partly": ((2, 3, 4, 5), (-1, 20), (6, 20), lambda x: x.reshape(-1, 20)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reshape(case: tuple) -> None:
    shape, target, out, expected = case
    graph = graph_of(Reshape(name="reshape", inputs=["x"], outputs=["y"], shape=target), {"x": shape, "y": out})
    emitted = check(graph, expected)
    assert emitted.kinds() == ["Reshape"]
