"""Constant: a buffer in the state_dict, returned whatever the batch."""

from __future__ import annotations

import numpy as np
import torch

from converter.ir import Constant, Graph, Relu
from converter.ir.graph import Tensor
from emit_torch.helpers import emit

VALUE = np.arange(8, dtype=np.float32).reshape(1, 2, 4) / 7


def test_constant() -> None:
    nodes = [Constant(name="priors", inputs=[], outputs=["c"], value=VALUE), Relu(name="relu", inputs=["x"],
                                                                                   outputs=["y"])]
    graph = Graph("g", ["x"], ["y", "c"], nodes, {"x": Tensor("x", (2, 3)), "y": Tensor("y", (2, 3)),
                                                  "c": Tensor("c", (1, 2, 4))})
    emitted = emit(graph)
    assert emitted.shapes() == {"layers.priors.value": (1, 2, 4)}
    for batch in (1, 3):
        with torch.no_grad():
            y, c = emitted.module(torch.ones(batch, 3))
        np.testing.assert_array_equal(c.numpy(), VALUE)
        assert y.shape == (batch, 3)
