"""IR -> ONNX. One small emitter per IR op (`ops/<op>.py`, registered with `@converts`); knows
nothing of Caffe.

The batch dimension (dim 0) is symbolic ("N") on every graph input and output, except outputs whose
op has no batch axis (a Constant) or sizes known only at run time (named by the op). Tensor names are
the IR's; ONNX node names are the IR node's (parts of one node get "<name>/<part>"); weights are
initializers "<node>.weight", "<node>.bias", ...
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from onnx import TensorProto, helper

from converter.defaults import DEFAULT_OPSET, SUPPORTED_OPSETS
from converter.emit.onnx.model import EXTERNAL_DATA_THRESHOLD, OnnxModel
from converter.emit.onnx.registry import EMITTERS, TABLE, Context, converts
from converter.ir import Graph

__all__ = [
    "DEFAULT_OPSET",
    "EMITTERS",
    "EXTERNAL_DATA_THRESHOLD",
    "PRODUCER",
    "SUPPORTED_OPSETS",
    "Context",
    "OnnxModel",
    "build_onnx",
    "converts",
    "emit_onnx",
]

PRODUCER = "squeeze-convert"
BATCH = "N"


def _value_info(graph: Graph, name: str) -> onnx.ValueInfoProto:
    if name not in graph.tensors:
        raise KeyError(f"no IR tensor named {name!r}")
    dims: list[str | int] = list(graph.tensors[name].shape)
    producer = graph.producer(name)
    batch_axis = producer.batch_axis if producer is not None else 0
    if batch_axis is not None and dims:
        dims[batch_axis] = BATCH
    for axis, symbol in (producer.run_time_dims if producer is not None else {}).items():
        dims[axis] = symbol
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def build_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> OnnxModel:
    """The ONNX model of `graph` as a skeleton plus weight arrays (not copied into protobuf).

    `extra_outputs` names further IR tensors to expose as graph outputs (e.g. to check intermediates).
    """
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"opset {opset} is not supported ({SUPPORTED_OPSETS[0]}..{SUPPORTED_OPSETS[-1]})")
    ctx = Context(graph, opset)
    for node in graph.nodes:
        TABLE.emitter_of(node)(node, ctx)
    outputs = list(dict.fromkeys([*graph.outputs, *extra_outputs]))
    onnx_graph = helper.make_graph(
        ctx.nodes, graph.name,
        [_value_info(graph, t) for t in graph.inputs],
        [_value_info(graph, t) for t in outputs],
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, opset_imports=opsets, producer_name=PRODUCER, doc_string=PRODUCER)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return OnnxModel(model, ctx.weights, dict(graph.metadata))


def emit_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> onnx.ModelProto:
    """The whole model in memory (weights copied in); `build_onnx(...).save()` streams instead."""
    return build_onnx(graph, opset, extra_outputs).to_proto()

