"""ConvTranspose against torch.nn.functional.conv_transpose2d (emit_common.conv_graph)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from converter.ir import ConvTranspose
from emit_common import CONV_TRANSPOSE_CASES, conv_graph
from emit_onnx.helpers import check, graph_of, initializers, ops, rand


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES.values(), ids=CONV_TRANSPOSE_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    _, graph, oracle = conv_graph(case, transpose=True, name="up")
    model = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["ConvTranspose"] and model.graph.node[0].name == "up"
    assert set(initializers(model)) == ({"up.weight", "up.bias"} if case[-1] else {"up.weight"})


def test_several_inputs_share_one_set_of_weights() -> None:
    weight = rand((3, 2, 2, 2), 1)
    node = ConvTranspose(name="up", inputs=["a", "b"], outputs=["ya", "yb"], weight=weight, bias=None,
                         stride=(2, 2))
    graph = graph_of(node, {"a": (1, 3, 3, 4), "b": (1, 3, 3, 4), "ya": (1, 2, 6, 8), "yb": (1, 2, 6, 8)})

    def torch_deconv(a, b):
        return [F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(weight), None, 2).numpy() for x in (a, b)]

    model = check(graph, torch_deconv, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["ConvTranspose", "ConvTranspose"] and set(initializers(model)) == {"up.weight"}
