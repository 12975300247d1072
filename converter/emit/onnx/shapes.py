"""Shapes a viewer shows: graph input/output types and `value_info` for every intermediate tensor.

IR tensors take their shapes from the IR (dim 0 the batch: symbolic "N" unless pinned; with
`dynamic_hw`, height and width of 4-D tensors left symbolic). Tensors an emitter made up inside one
IR node (a Pad before a Pool, a Transpose...) take their shape from the few rules below for the
common cases (an elementwise op keeps its input's shape, Flatten, Conv), else from ONNX's own shape
inference (which imports onnx: the common nets convert without it), so no emitter has to declare
anything. The whole is checked against ONNX shape inference (strict) by the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from converter.emit.onnx import proto
from converter.ir import Graph

if TYPE_CHECKING:
    import onnx

BATCH = "N"
HEIGHT, WIDTH = "H", "W"
# Initializers up to this many elements go to shape inference with their values (shapes, pads,
# split sizes that inference reads); larger ones only as type and dims.
_SMALL = 4096
Dims = list[str | int | None]
# Shape of the first input, when every other input has that very shape or is an initializer that
# broadcasts to it without widening it.
_SAME_SHAPE = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Abs", "Exp", "Log", "Elu", "Sqrt", "Neg", "Softmax",
               "LRN", "Identity", "Dropout", "Mul", "Add", "Sub", "Div", "Pow", "PRelu", "Clip"}


Layout = tuple[int | None, dict[int, str]]
"""Where an IR op's outputs hold the batch (None: nowhere) and which axes only the run knows (named)."""


def output_layouts(graph: Graph) -> dict[str, Layout]:
    """Each node output's layout, as its op declares it (the batch on axis 0 for most ops); an op
    reading only tensors that hold no batch (a Concat of PriorBox constants) holds none either."""
    layouts: dict[str, Layout] = {}
    for node in graph.nodes:
        batch_axis = node.batch_axis
        if node.inputs and all(t in layouts and layouts[t][0] is None for t in node.inputs):
            batch_axis = None
        layouts.update((tensor, (batch_axis, node.run_time_dims)) for tensor in node.outputs)
    return layouts


def tensor_dims(shape: Sequence[int], *, batch: int | None = None, dynamic_hw: bool = False,
                graph_input: bool = False, layout: Layout = (0, {})) -> Dims:
    """The ONNX dims of an IR shape: the batch symbolic unless pinned; a 4-D tensor's H and W
    symbolic ("H", "W") on graph inputs and unknown elsewhere with `dynamic_hw`. An op whose output
    holds no batch (a Constant, DetectionOutput's rows) keeps its dims, but for those only the run
    knows (named symbols)."""
    if not shape:
        return []
    batch_axis, run_time_dims = layout
    dims: Dims = list(shape)
    if batch_axis is not None:
        dims[batch_axis] = BATCH if batch is None else batch
        if dynamic_hw and len(shape) == 4:
            dims[2:] = [HEIGHT, WIDTH] if graph_input else [None, None]
    for axis, symbol in run_time_dims.items():
        dims[axis] = symbol
    return dims


def value_info(graph: Graph, name: str, *, layouts: dict[str, Layout] | None = None, **kw: object) -> bytes:
    """The encoded ValueInfoProto of an IR tensor (float)."""
    if name not in graph.tensors:
        raise KeyError(f"no IR tensor named {name!r}")
    layout = (layouts if layouts is not None else output_layouts(graph)).get(name, (0, {}))
    return proto.value_info(name, proto.FLOAT, tensor_dims(graph.tensors[name].shape, layout=layout, **kw))  # type: ignore[arg-type]


def _product(dims: Sequence[str | int | None]) -> int | None:
    return math.prod(dims) if all(isinstance(d, int) for d in dims) else None  # type: ignore[arg-type]


def _local_dims(node: proto.NodeSpec, known: dict[str, Dims], constants: dict[str, tuple[int, ...]]) -> Dims | None:
    """The float output's dims by the rules in the module docstring, or None when they do not apply."""
    if node.raw is not None or not node.inputs or node.inputs[0] not in known:
        return None
    x = known[node.inputs[0]]
    if node.op_type == "Cast":
        return list(x)
    if node.op_type in _SAME_SHAPE:
        others = node.inputs[1:]
        if all(known.get(o) == x or o in constants and len(constants[o]) <= len(x)
               and all(c == 1 or (isinstance(d, int) and c == d)
                       for c, d in zip(reversed(constants[o]), reversed(x), strict=False)) for o in others):
            return list(x)
        return None
    if node.op_type == "Flatten":
        axis = int(node.attributes.get("axis", 1)) % max(len(x), 1)
        head, tail = x[:axis], x[axis:]
        first = head[0] if len(head) == 1 and isinstance(head[0], str) else _product(head)
        return [first, _product(tail)]
    if node.op_type == "Conv" and len(x) == 4 and len(node.inputs) >= 2 and node.inputs[1] in constants:
        weight = constants[node.inputs[1]]
        kernel = node.attributes.get("kernel_shape", weight[2:])
        strides = node.attributes.get("strides", [1, 1])
        pads = node.attributes.get("pads", [0, 0, 0, 0])
        dilations = node.attributes.get("dilations", [1, 1])
        spatial = []
        for i in range(2):
            size = x[2 + i]
            spatial.append((size + pads[i] + pads[i + 2] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1
                           if isinstance(size, int) else None)
        return [x[0], weight[0], *spatial]
    return None


def intermediate_value_info(skeleton: bytes, nodes: Sequence[proto.NodeSpec], ends: set[str],
                            weights: Iterable[tuple[str, np.ndarray]], graph: Graph, **kw: object) -> list[bytes]:
    """value_info for every tensor a node produces that is neither a graph input or output nor an
    initializer: the IR's shape for IR tensors, the rules above or ONNX shape inference for the others."""
    weights = list(weights)
    constants = {name: tuple(array.shape) for name, array in weights}
    produced = list(dict.fromkeys(o for node in nodes for o in node.outputs if o and o not in ends))
    layouts = output_layouts(graph)
    known: dict[str, Dims] = {name: tensor_dims(graph.tensors[name].shape, graph_input=name in graph.inputs,
                                                layout=layouts.get(name, (0, {})), **kw)  # type: ignore[arg-type]
                              for name in {*produced, *graph.inputs, *ends} if name in graph.tensors}
    types = {name: proto.FLOAT for name in known}
    types.update((name, proto.DATA_TYPES.get(array.dtype.newbyteorder("="), 0)) for name, array in weights)
    infos: dict[str, bytes] = {}
    missing = False
    for node in nodes:
        for i, output in enumerate(node.outputs):
            if not output or output in ends:
                continue
            if output not in known and i == 0 and len(node.outputs) == 1:
                dims = _local_dims(node, known, constants)
                kind = int(node.attributes.get("to", 0)) if node.op_type == "Cast" else types.get(node.inputs[0], 0)
                if dims is not None and kind:
                    known[output], types[output] = dims, kind
            if output in known:
                infos[output] = proto.value_info(output, types[output], known[output])
            else:
                missing = True
    if missing:
        inferred = _inferred(skeleton + proto.graph_value_infos(infos.values()), weights)
        infos.update((name, inferred[name].SerializeToString()) for name in produced
                     if name not in infos and name in inferred)
    return [infos[name] for name in produced if name in infos]


def _inferred(skeleton: bytes, weights: Iterable[tuple[str, np.ndarray]]) -> dict[str, onnx.ValueInfoProto]:
    import onnx
    from onnx import helper, numpy_helper

    probe = onnx.ModelProto.FromString(skeleton)
    for name, array in weights:
        if array.size <= _SMALL:
            # ascontiguousarray makes a 0-axis array 1-D: reshaped back (a scalar index stays a scalar).
            value = np.ascontiguousarray(array).reshape(array.shape)
            probe.graph.initializer.append(numpy_helper.from_array(value, name))
        else:
            # Type and dims are all inference reads of a big weight: no copy of its values.
            probe.graph.input.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
    inferred = onnx.shape_inference.infer_shapes(probe, data_prop=True)
    return {v.name: v for v in inferred.graph.value_info}
