"""Conv against torch.nn.functional.conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from converter.ir import Conv
from emit_onnx.helpers import check, graph_of, initializers, node_names, ops, rand

CASES = {
    # (in channels, hw, out, kernel, stride, pad, dilation, group, bias)
    "plain_3x3": (3, (7, 7), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    "stride_pad": (3, (8, 6), 5, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    "rect_kernel_no_bias": (2, (6, 7), 3, (1, 3), (1, 2), (0, 1), (1, 1), 1, False),
    "dilation": (2, (9, 9), 2, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    "group": (4, (5, 5), 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    "depthwise": (4, (5, 5), 4, (3, 3), (2, 2), (1, 1), (1, 1), 4, True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_matches_torch(case: tuple) -> None:
    cin, (h, w), cout, (kh, kw), stride, pad, dil, group, has_bias = case
    weight = rand((cout, cin // group, kh, kw), 1)
    bias = rand((cout,), 2) if has_bias else None
    node = Conv(name="conv1", inputs=["data"], outputs=["conv1@conv1"], weight=weight, bias=bias, stride=stride,
                pad=pad, dilation=dil, group=group)
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    graph = graph_of(node, {"data": (1, cin, h, w), "conv1@conv1": (1, cout, oh, ow)})

    def torch_conv(x):
        b = torch.from_numpy(bias) if bias is not None else None
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(weight), b, stride, pad, dil, group).numpy()

    model = check(graph, torch_conv, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv"] and node_names(model) == ["conv1"]
    assert model.graph.node[0].output == ["conv1@conv1"]
    expected = {"conv1.weight", "conv1.bias"} if has_bias else {"conv1.weight"}
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
