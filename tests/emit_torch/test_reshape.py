"""Reshape against numpy: a 0 copies the input's dim (the batch too), one -1 is inferred."""

from __future__ import annotations

import pytest

from converter.ir import Reshape
from emit_torch.helpers import check, graph_of

CASES = {  # (input shape, IR shape, output shape at batch 2)
    "copy_batch_infer": ((2, 3, 4, 5), (0, -1, 2), (2, 30, 2)),
    "copy_two": ((2, 3, 4, 5), (0, 0, 20), (2, 3, 20)),
    "to_2d": ((2, 3, 4, 5), (0, -1), (2, 60)),
    "add_dims": ((2, 6), (0, 2, 3, 1), (2, 2, 3, 1)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reshape(case: tuple) -> None:
    shape, target, out = case
    graph = graph_of(Reshape(name="reshape", inputs=["x"], outputs=["y"], shape=target), {"x": shape, "y": out})
    emitted = check(graph, lambda x: x.reshape(x.shape[0], *out[1:]))
    assert emitted.kinds() == ["Reshape"]


def test_fixed_batch() -> None:
    # No 0: the batch is part of the shape (batch 1 only).
    graph = graph_of(Reshape(name="reshape", inputs=["x"], outputs=["y"], shape=(1, 12)),
                     {"x": (1, 3, 4), "y": (1, 12)})
    check(graph, lambda x: x.reshape(1, 12), batches=(1,))
