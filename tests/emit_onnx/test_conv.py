"""Conv against torch.nn.functional.conv2d (emit_common.conv_graph) and, with end padding, a numpy loop:
names, weights, attributes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from converter.ir import Conv
from emit_common import CONV_CASES, END_PADDED_CONV_CASES, conv_graph, end_padded_conv_graph
from emit_onnx.helpers import check, graph_of, initializers, node_names, ops, rand


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    _, graph, oracle = conv_graph(case, source="data", output="conv1@conv1")
    model = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv"] and node_names(model) == ["conv1"]
    assert model.graph.node[0].output == ["conv1@conv1"]
    expected = {"conv1.weight", "conv1.bias"} if case[-1] else {"conv1.weight"}
    assert set(initializers(model)) == expected


def test_several_inputs_share_one_set_of_weights() -> None:
    # Caffe's multi-bottom convolution: each bottom convolved with the same weights into its own top.
    weight, bias = rand((4, 3, 3, 3), 1), rand((4,), 2)
    node = Conv(name="conv", inputs=["a", "b"], outputs=["ya", "yb"], weight=weight, bias=bias, pad=(1, 1))
    graph = graph_of(node, {"a": (1, 3, 5, 6), "b": (1, 3, 5, 6), "ya": (1, 4, 5, 6), "yb": (1, 4, 5, 6)})

    def torch_conv(a, b):
        w, c = torch.from_numpy(weight), torch.from_numpy(bias)
        return [F.conv2d(torch.from_numpy(x), w, c, 1, 1).numpy() for x in (a, b)]

    model = check(graph, torch_conv, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv", "Conv"] and node_names(model) == ["conv", "conv/1"]
    assert set(initializers(model)) == {"conv.weight", "conv.bias"}


@pytest.mark.parametrize("case", END_PADDED_CONV_CASES.values(), ids=END_PADDED_CONV_CASES.keys())
def test_end_padding_goes_into_the_end_pads(case: tuple) -> None:
    node, graph, oracle = end_padded_conv_graph(case)
    model = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv"]
    (pads,) = [a.ints for a in model.graph.node[0].attribute if a.name == "pads"]
    (ph, pw), (eh, ew) = node.pad, node.extra_end
    assert list(pads) == [ph, pw, ph + eh, pw + ew]
