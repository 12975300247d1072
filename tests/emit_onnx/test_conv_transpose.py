"""ConvTranspose against torch.nn.functional.conv_transpose2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from converter.ir import ConvTranspose
from emit_onnx.helpers import check, graph_of, initializers, ops, rand

CASES = {
    # (in channels, hw, out, kernel, stride, pad, dilation, group, bias)
    "upsample_2x": (3, (4, 5), 2, (4, 4), (2, 2), (1, 1), (1, 1), 1, True),
    "stride3_no_bias": (2, (3, 3), 3, (3, 2), (3, 2), (0, 0), (1, 1), 1, False),
    "dilation": (2, (4, 4), 2, (3, 3), (1, 1), (1, 1), (2, 2), 1, True),
    "group": (4, (3, 4), 6, (3, 3), (2, 2), (1, 1), (1, 1), 2, True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_matches_torch(case: tuple) -> None:
    cin, (h, w), cout, (kh, kw), stride, pad, dil, group, has_bias = case
    weight = rand((cin, cout // group, kh, kw), 1)
    bias = rand((cout,), 2) if has_bias else None
    node = ConvTranspose(name="up", inputs=["x"], outputs=["y"], weight=weight, bias=bias, stride=stride, pad=pad,
                         dilation=dil, group=group)
    oh = (h - 1) * stride[0] - 2 * pad[0] + dil[0] * (kh - 1) + 1
    ow = (w - 1) * stride[1] - 2 * pad[1] + dil[1] * (kw - 1) + 1
    graph = graph_of(node, {"x": (2, cin, h, w), "y": (2, cout, oh, ow)})

    def torch_deconv(x):
        b = torch.from_numpy(bias) if bias is not None else None
        return F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(weight), b, stride, pad, 0, group,
                                  dil).numpy()

    model = check(graph, torch_deconv, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["ConvTranspose"] and model.graph.node[0].name == "up"
    assert set(initializers(model)) == ({"up.weight", "up.bias"} if has_bias else {"up.weight"})


def test_several_inputs_share_one_set_of_weights() -> None:
    weight = rand((3, 2, 2, 2), 1)
    node = ConvTranspose(name="up", inputs=["a", "b"], outputs=["ya", "yb"], weight=weight, bias=None,
                         stride=(2, 2))
    graph = graph_of(node, {"a": (1, 3, 3, 4), "b": (1, 3, 3, 4), "ya": (1, 2, 6, 8), "yb": (1, 2, 6, 8)})

    def torch_deconv(a, b):
        return [F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(weight), None, 2).numpy() for x in (a, b)]

    model = check(graph, torch_deconv, rtol=1e-4, atol=1e-4)
    assert ops(model) == ["ConvTranspose", "ConvTranspose"] and set(initializers(model)) == {"up.weight"}
