"""Conv against torch.nn.functional.conv2d (emit_common.conv_graph): names, weights, attributes."""

from __future__ import annotations

import pytest

from emit_common import CONV_CASES, conv_graph
from emit_onnx.helpers import check, initializers, node_names, ops


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    _, graph, oracle = conv_graph(case, source="data", output="conv1@conv1")
    model = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv"] and node_names(model) == ["conv1"]
    assert model.graph.node[0].output == ["conv1@conv1"]
    expected = {"conv1.weight", "conv1.bias"} if case[-1] else {"conv1.weight"}
    assert set(initializers(model)) == expected
