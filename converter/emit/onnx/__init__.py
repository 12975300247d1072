"""IR -> ONNX. One small emitter per IR op (`ops/<op>.py`, registered with `@converts`); knows
nothing of Caffe.

The batch dimension (dim 0) is symbolic ("N") on every graph input and output. Tensor names are
the IR's; ONNX node names are the IR node's (parts of one node get "<name>/<part>"); weights are
initializers "<node>.weight", "<node>.bias", ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from converter.defaults import DEFAULT_OPSET, SUPPORTED_OPSETS
from converter.emit.onnx import proto
from converter.emit.onnx.model import EXTERNAL_DATA_THRESHOLD, OnnxModel
from converter.emit.onnx.registry import EMITTERS, TABLE, Context, converts
from converter.ir import Graph

if TYPE_CHECKING:
    import onnx

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


def _value_info(graph: Graph, name: str) -> bytes:
    if name not in graph.tensors:
        raise KeyError(f"no IR tensor named {name!r}")
    shape = graph.tensors[name].shape
    dims: list[str | int] = [BATCH, *shape[1:]] if shape else []
    return proto.value_info(name, proto.FLOAT, dims)


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
    skeleton = proto.model(graph.name, ctx.nodes, [_value_info(graph, t) for t in graph.inputs],
                           [_value_info(graph, t) for t in outputs], opset, PRODUCER)
    return OnnxModel(skeleton, ctx.weights, dict(graph.metadata))


def emit_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> onnx.ModelProto:
    """The whole model in memory (weights copied in); `build_onnx(...).save()` streams instead."""
    return build_onnx(graph, opset, extra_outputs).to_proto()

