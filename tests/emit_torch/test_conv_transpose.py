"""ConvTranspose against torch.nn.functional.conv_transpose2d (emit_common.conv_graph)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from converter.ir import ConvTranspose
from emit_common import CONV_TRANSPOSE_CASES, conv_graph
from emit_torch.helpers import check, graph_of, rand


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES.values(), ids=CONV_TRANSPOSE_CASES.keys())
def test_matches_torch(case: tuple) -> None:
    node, graph, oracle = conv_graph(case, transpose=True, name="up")
    emitted = check(graph, oracle, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["ConvTranspose2d"]
    bias = {"layers.up.bias": (case[2],)} if case[-1] else {}
    assert emitted.shapes() == {"layers.up.weight": node.weight.shape} | bias


def test_several_inputs_share_one_set_of_weights() -> None:
    # Caffe's multi-bottom deconvolution: each bottom through the same weights into its own top.
    weight, bias = rand((3, 2, 4, 4), 1), rand((2,), 2)
    node = ConvTranspose(name="up", inputs=["a", "b"], outputs=["ya", "yb"], weight=weight, bias=bias,
                         stride=(2, 2), pad=(1, 1))
    graph = graph_of(node, {"a": (2, 3, 4, 5), "b": (2, 3, 4, 5), "ya": (2, 2, 8, 10), "yb": (2, 2, 8, 10)})

    def torch_deconv(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        w, c = torch.from_numpy(weight), torch.from_numpy(bias)
        return [F.conv_transpose2d(torch.from_numpy(x), w, c, 2, 1).numpy() for x in (a, b)]

    emitted = check(graph, torch_deconv, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["SharedConvTranspose2d"]
    assert emitted.shapes() == {"layers.up.weight": (3, 2, 4, 4), "layers.up.bias": (2,)}
