"""Helpers for the ONNX emitter tests: tiny hand-built IR graphs, run through ONNX Runtime.

Nothing here computes an expected value: each test states its own expectation (PyTorch's
functional ops or a numpy loop written in the test).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort

from converter.emit.onnx import emit_onnx
from converter.ir import Graph
from converter.ir.graph import Shape
from emit_common import Oracle, compare_outputs, graph_of, rand

__all__ = ["check", "emit_checked", "graph_of", "initializers", "node_names", "ops", "rand", "run"]


def emit_checked(graph: Graph, opset: int = 17, extra_outputs: Sequence[str] = ()) -> onnx.ModelProto:
    """emit_onnx, then the full checker, a symbolic batch on every graph input and output."""
    model = emit_onnx(graph, opset=opset, extra_outputs=extra_outputs)
    onnx.checker.check_model(model, full_check=True)
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "N", f"{value.name}: dim 0 is not the symbolic batch"
    return model


def run(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(feeds)), strict=True))


def check(graph: Graph, oracle: Oracle, *, batches: Sequence[int] = (1, 3), opset: int = 17,
          inputs: Mapping[str, Callable[[Shape, int], np.ndarray]] | None = None,
          rtol: float = 1e-5, atol: float = 1e-5) -> onnx.ModelProto:
    """Emit `graph`, then for each batch size run it on random inputs (or `inputs[name](shape, seed)`)
    and compare every graph output with `oracle(*input arrays)`. Returns the model."""
    model = emit_checked(graph, opset)
    compare_outputs(graph, lambda feeds: run(model, feeds), oracle, batches=batches, inputs=inputs, rtol=rtol,
                    atol=atol)
    return model


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def node_names(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node]


def initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
