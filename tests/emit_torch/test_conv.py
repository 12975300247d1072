"""Conv against torch.nn.functional.conv2d (emit_common.conv_graph); the constructor leaves
PyTorch's defaults out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from converter.ir import Conv
from emit_common import CONV_CASES, END_PADDED_CONV_CASES, conv_graph, end_padded_conv_graph
from emit_torch.helpers import check, graph_of, rand

ARGUMENTS = {
    "plain_3x3": "3, 4, kernel_size=3",
    "stride_pad": "3, 5, kernel_size=3, stride=2, padding=1",
    "rect_kernel_no_bias": "2, 3, kernel_size=(1, 3), stride=(1, 2), padding=(0, 1), bias=False",
    "dilation": "2, 2, kernel_size=3, padding=2, dilation=2",
    "group": "4, 6, kernel_size=3, padding=1, groups=2",
    "depthwise": "4, 4, kernel_size=3, stride=2, padding=1, groups=4",
}


@pytest.mark.parametrize("name", CONV_CASES)
def test_matches_torch(name: str) -> None:
    node, graph, oracle = conv_graph(CONV_CASES[name])
    emitted = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert f"self.layers['conv1'] = nn.Conv2d({ARGUMENTS[name]})" in emitted.export.source
    bias = {"layers.conv1.bias": (node.out_channels,)} if node.bias is not None else {}
    assert emitted.shapes() == {"layers.conv1.weight": node.weight.shape} | bias


@pytest.mark.parametrize("inputs", [["a", "b"], ["a", "a"], ["a", "b", "c"]])
def test_several_inputs_share_one_set_of_weights(inputs: list[str]) -> None:
    # Caffe's multi-bottom convolution: each bottom convolved with the same weights into its own top
    # (the same bottom twice included).
    weight, bias = rand((4, 3, 3, 3), 1), rand((4,), 2)
    outputs = [f"y{i}" for i in range(len(inputs))]
    node = Conv(name="conv", inputs=inputs, outputs=outputs, weight=weight, bias=bias, stride=(2, 1), pad=(1, 1))
    shapes = dict.fromkeys(inputs, (2, 3, 5, 6)) | dict.fromkeys(outputs, (2, 4, 3, 6))
    graph = graph_of(node, shapes, inputs=list(dict.fromkeys(inputs)))

    def torch_conv(*xs: np.ndarray) -> list[np.ndarray]:
        by_name = dict(zip(graph.inputs, xs, strict=True))
        w, b = torch.from_numpy(weight), torch.from_numpy(bias)
        return [F.conv2d(torch.from_numpy(by_name[name]), w, b, (2, 1), 1).numpy() for name in inputs]

    emitted = check(graph, torch_conv, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["SharedConv2d"]
    assert emitted.shapes() == {"layers.conv.weight": (4, 3, 3, 3), "layers.conv.bias": (4,)}
    assert "SharedConv2d(3, 4, kernel_size=3, stride=(2, 1), padding=1)" in emitted.export.source


@pytest.mark.parametrize("case", END_PADDED_CONV_CASES.values(), ids=END_PADDED_CONV_CASES.keys())
def test_end_padding_before_the_convolution(case: tuple) -> None:
    node, graph, oracle = end_padded_conv_graph(case)
    emitted = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["EndPaddedConv2d"]
    assert f"end={list(node.extra_end)})" in emitted.export.source
    bias = {"layers.conv1.bias": (node.out_channels,)} if node.bias is not None else {}
    assert emitted.shapes() == {"layers.conv1.weight": node.weight.shape} | bias


def test_end_padding_with_several_inputs() -> None:
    weight, bias = rand((2, 3, 3, 3), 1), rand((2,), 2)
    node = Conv(name="conv", inputs=["a", "b"], outputs=["ya", "yb"], weight=weight, bias=bias, stride=(2, 2),
                extra_end=(1, 1))
    graph = graph_of(node, {"a": (2, 3, 2, 2), "b": (2, 3, 2, 2), "ya": (2, 2, 1, 1), "yb": (2, 2, 1, 1)})

    def oracle(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        # One 3x3 window at the corner: the 2x2 input times the weights' top-left 2x2, plus the bias.
        return [np.einsum("nchw,ochw->no", x, weight[:, :, :2, :2]).reshape(-1, 2, 1, 1) + bias.reshape(1, 2, 1, 1)
                for x in (a, b)]

    emitted = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["SharedConv2d"]  # a list of inputs, each end-padded
