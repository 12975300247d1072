"""IR -> ONNX. One small emitter per IR op (`ops/<op>.py`, registered with `@converts`); knows
nothing of Caffe.

The batch dimension (dim 0) is symbolic ("N") on every graph input and output, except outputs of ops
that hold no batch (shapes.py: a Constant, DetectionOutput's rows, whose count is a named symbol). Tensor names are
the IR's; ONNX node names are the IR node's (parts of one node get "<name>/<part>"); weights are
initializers "<node>.weight", "<node>.bias", ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from converter.defaults import DEFAULT_OPSET, LOWEST_EMITTED, SUPPORTED_OPSETS
from converter.emit.onnx import proto
from converter.emit.onnx.model import EXTERNAL_DATA_THRESHOLD, OnnxModel
from converter.emit.onnx.registry import EMITTERS, TABLE, Context, converts
from converter.emit.onnx.shapes import intermediate_value_info, output_layouts, value_info
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


def producer_version() -> str:
    """The installed squeeze-convert's version (the package metadata's)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("squeeze-convert")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def build_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = (), *,
               batch: int | None = None, dynamic_hw: bool = False) -> OnnxModel:
    """The ONNX model of `graph` as a skeleton plus weight arrays (not copied into protobuf).

    `extra_outputs` names further IR tensors to expose as graph outputs (e.g. to check intermediates).
    The batch (dim 0) is symbolic "N" unless `batch` pins it; `dynamic_hw` leaves a 4-D input's
    height and width symbolic (the caller checks that the net allows it). Every intermediate tensor
    gets a `value_info` (shapes.py). The skeleton is encoded directly (proto.py): no onnx import,
    unless an emitter-internal tensor needs ONNX's shape inference.
    """
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"opset {opset} is not supported ({SUPPORTED_OPSETS[0]}..{SUPPORTED_OPSETS[-1]})")
    # Emitters write opset-13 forms at least; older opsets are lowered from them (downgrade.py).
    ctx = Context(graph, max(opset, LOWEST_EMITTED))
    for node in graph.nodes:
        TABLE.emitter_of(node)(node, ctx)
    nodes = [proto.NodeSpec.of(node) for node in ctx.nodes]  # some emitters append onnx NodeProtos
    if opset < LOWEST_EMITTED:
        nodes = _lowered(nodes, graph, dict(ctx.weights), opset)
    outputs = list(dict.fromkeys([*graph.outputs, *extra_outputs]))
    dims = {"batch": batch, "dynamic_hw": dynamic_hw}
    layouts = output_layouts(graph)
    inputs = [value_info(graph, t, graph_input=True, layouts=layouts, **dims) for t in graph.inputs]
    output_infos = [value_info(graph, t, layouts=layouts, **dims) for t in outputs]
    skeleton = proto.model(graph.name, nodes, inputs, output_infos, opset, PRODUCER,
                           producer_version=producer_version(), doc=graph.doc or PRODUCER)
    intermediates = intermediate_value_info(skeleton, nodes, {*graph.inputs, *outputs}, ctx.weights, graph,
                                            **dims)
    return OnnxModel(skeleton + proto.graph_value_infos(intermediates), ctx.weights, dict(graph.metadata))


def _lowered(nodes: list[proto.NodeSpec], graph: Graph, weights: dict, opset: int) -> list[proto.NodeSpec]:
    """`nodes` lowered to an opset older than the emitters write (imports onnx: only then)."""
    import onnx

    from converter.emit.onnx.downgrade import lower

    shapes = {name: tensor.shape for name, tensor in graph.tensors.items()}
    protos = [onnx.NodeProto.FromString(node.encode()) for node in nodes]
    lowered = lower(protos, weights, {name: len(s) for name, s in shapes.items()}, shapes, opset)
    return [proto.NodeSpec.of(node) for node in lowered]


def emit_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> onnx.ModelProto:
    """The whole model in memory (weights copied in); `build_onnx(...).save()` streams instead."""
    return build_onnx(graph, opset, extra_outputs).to_proto()

