"""ConvTranspose against torch.nn.functional.conv_transpose2d (emit_common.conv_graph)."""

from __future__ import annotations

import pytest

from emit_common import CONV_TRANSPOSE_CASES, conv_graph
from emit_torch.helpers import check


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES.values(), ids=CONV_TRANSPOSE_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    node, graph, oracle = conv_graph(case, transpose=True, name="up")
    emitted = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["ConvTranspose2d"]
    bias = {"layers.up.bias": (case[2],)} if case[-1] else {}
    assert emitted.shapes() == {"layers.up.weight": node.weight.shape} | bias
