"""Flatten against numpy reshape: dims axis..end_axis merged."""

from __future__ import annotations

import pytest

from converter.ir import Flatten
from emit_torch.helpers import check, graph_of

CASES = {  # (input shape, axis, end_axis, output shape)
    "from_1": ((2, 3, 4, 5), 1, 3, (2, 60)),
    "middle": ((2, 3, 4, 5), 1, 2, (2, 12, 5)),
    "from_2": ((2, 3, 4, 5), 2, 3, (2, 3, 20)),
    "one_dim": ((2, 3, 4, 5), 2, 2, (2, 3, 4, 5)),
    "with_batch": ((2, 3, 4), 0, 1, (6, 4)),
    "negative_axes": ((2, 3, 4, 5), -3, -2, (2, 12, 5)),
    # end_axis just before axis (Caffe allows it): an axis of size 1 is inserted at `axis`.
    "insert_at_2": ((2, 3, 4, 5), 2, 1, (2, 3, 1, 4, 5)),
    "insert_at_1": ((2, 3, 4), 1, 0, (2, 1, 3, 4)),
    "insert_before_last": ((2, 3, 4, 5), 3, 2, (2, 3, 4, 1, 5)),
    "insert_2d": ((2, 3), 1, 0, (2, 1, 3)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_flatten(case: tuple) -> None:
    shape, axis, end, out = case
    graph = graph_of(Flatten(name="flat", inputs=["x"], outputs=["y"], axis=axis, end_axis=end),
                     {"x": shape, "y": out})
    emitted = check(graph, lambda x: x.reshape(*x.shape[:axis], -1, *x.shape[end + 1:]))
    assert emitted.kinds() == ["FlattenRange"]
