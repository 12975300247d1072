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
from converter.ir import Graph, Node
from converter.ir.graph import Shape, Tensor

Oracle = Callable[..., Sequence[np.ndarray] | np.ndarray]


def graph_of(nodes: Node | Sequence[Node], shapes: Mapping[str, Shape], inputs: Sequence[str] | None = None,
             outputs: Sequence[str] | None = None, name: str = "test") -> Graph:
    """A graph of `nodes` with the tensors of `shapes`; inputs/outputs default to the first node's
    inputs and the last node's outputs."""
    nodes = [nodes] if isinstance(nodes, Node) else list(nodes)
    return Graph(
        name=name,
        inputs=list(inputs if inputs is not None else nodes[0].inputs),
        outputs=list(outputs if outputs is not None else nodes[-1].outputs),
        nodes=nodes,
        tensors={t: Tensor(t, tuple(s)) for t, s in shapes.items()},
    )


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


def rand(shape: Shape, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def with_batch(shape: Shape, batch: int) -> Shape:
    return (batch, *shape[1:])


def check(graph: Graph, oracle: Oracle, *, batches: Sequence[int] = (1, 3), opset: int = 17,
          inputs: Mapping[str, Callable[[Shape, int], np.ndarray]] | None = None,
          rtol: float = 1e-5, atol: float = 1e-5) -> onnx.ModelProto:
    """Emit `graph`, then for each batch size run it on random inputs (or `inputs[name](shape, seed)`)
    and compare every graph output with `oracle(*input arrays)`. Returns the model."""
    model = emit_checked(graph, opset)
    for batch in batches:
        feeds = {}
        for i, name in enumerate(graph.inputs):
            shape = with_batch(graph.shape(name), batch)
            make = (inputs or {}).get(name, lambda s, seed: rand(s, seed))
            feeds[name] = make(shape, 10 * batch + i)
        got = run(model, feeds)
        want = oracle(*feeds.values())
        want = [want] if isinstance(want, np.ndarray) else list(want)
        assert len(want) == len(graph.outputs)
        for name, expected in zip(graph.outputs, want, strict=True):
            actual = got[name]
            assert actual.dtype == np.float32, f"{name}: {actual.dtype}"
            assert actual.shape == expected.shape, f"{name} (batch {batch}): {actual.shape} != {expected.shape}"
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=f"{name}, batch {batch}")
    return model


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def node_names(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node]


def initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
