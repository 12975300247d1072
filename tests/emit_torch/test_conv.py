"""Conv against torch.nn.functional.conv2d (emit_common.conv_graph); the constructor leaves
PyTorch's defaults out."""

from __future__ import annotations

import pytest

from emit_common import CONV_CASES, conv_graph
from emit_torch.helpers import check

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
