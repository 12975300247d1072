"""ConvTranspose against torch.nn.functional.conv_transpose2d (emit_common.conv_graph)."""

from __future__ import annotations

import pytest

from emit_common import CONV_TRANSPOSE_CASES, conv_graph
from emit_onnx.helpers import check, initializers, ops


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES.values(), ids=CONV_TRANSPOSE_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    _, graph, oracle = conv_graph(case, transpose=True, name="up")
    model = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["ConvTranspose"] and model.graph.node[0].name == "up"
    assert set(initializers(model)) == ({"up.weight", "up.bias"} if case[-1] else {"up.weight"})
