"""Constant: its value, whatever the batch, next to a tensor that does follow the batch; as a graph
output its dims are its own (no symbolic batch), and so are those of an op reading only constants."""

from __future__ import annotations

import numpy as np

from converter.emit.onnx import emit_onnx
from converter.ir import Concat, Constant, Graph, Relu
from converter.ir.graph import Tensor
from emit_onnx.helpers import run

VALUE = np.arange(8, dtype=np.float32).reshape(1, 2, 4) / 7


def test_constant_output_and_use() -> None:
    nodes = [Constant(name="priors", inputs=[], outputs=["c"], value=VALUE),
             Concat(name="cat", inputs=["c", "c"], outputs=["cc"], axis=2),
             Relu(name="relu", inputs=["x"], outputs=["y"])]
    graph = Graph("g", ["x"], ["y", "c", "cc"], nodes,
                  {"x": Tensor("x", (2, 3)), "y": Tensor("y", (2, 3)), "c": Tensor("c", (1, 2, 4)),
                   "cc": Tensor("cc", (1, 2, 8))})
    model = emit_onnx(graph)
    dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    # A Concat of constants holds no batch either.
    assert dims == {"y": ["N", 3], "c": [1, 2, 4], "cc": [1, 2, 8]}
    for batch in (1, 3):
        out = run(model, {"x": np.ones((batch, 3), np.float32)})
        np.testing.assert_array_equal(out["c"], VALUE)
        np.testing.assert_array_equal(out["cc"], np.concatenate([VALUE, VALUE], axis=2))
