"""Shapes a viewer shows: graph input/output types and `value_info` for every intermediate tensor.

IR tensors take their shapes from the IR (dim 0 the batch: symbolic "N" unless pinned; with
`dynamic_hw`, height and width of 4-D tensors left symbolic). Tensors an emitter made up inside one
IR node (a Pad before a Pool, a Transpose...) take the shape ONNX's own shape inference gives them,
so no emitter has to declare anything. The whole is checked against ONNX shape inference (strict)
by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from converter.ir import Graph

BATCH = "N"
HEIGHT, WIDTH = "H", "W"
# Initializers up to this many elements go to shape inference with their values (shapes, pads,
# split sizes that inference reads); larger ones only as type and dims.
_SMALL = 4096


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
                graph_input: bool = False, layout: Layout = (0, {})) -> list[str | int | None]:
    """The ONNX dims of an IR shape: the batch symbolic unless pinned; a 4-D tensor's H and W
    symbolic ("H", "W") on graph inputs and unknown elsewhere with `dynamic_hw`. An op whose output
    holds no batch (a Constant, DetectionOutput's rows) keeps its dims, but for those only the run
    knows (named symbols)."""
    if not shape:
        return []
    batch_axis, run_time_dims = layout
    dims: list[str | int | None] = list(shape)
    if batch_axis is not None:
        dims[batch_axis] = BATCH if batch is None else batch
        if dynamic_hw and len(shape) == 4:
            dims[2:] = [HEIGHT, WIDTH] if graph_input else [None, None]
    for axis, symbol in run_time_dims.items():
        dims[axis] = symbol
    return dims


def value_info(graph: Graph, name: str, *, layouts: dict[str, Layout] | None = None,
               **kw: object) -> onnx.ValueInfoProto:
    if name not in graph.tensors:
        raise KeyError(f"no IR tensor named {name!r}")
    layout = (layouts if layouts is not None else output_layouts(graph)).get(name, (0, {}))
    return helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                         tensor_dims(graph.tensors[name].shape, layout=layout, **kw))


def intermediate_value_info(model: onnx.ModelProto, weights: Iterable[tuple[str, np.ndarray]], graph: Graph,
                            **kw: object) -> list[onnx.ValueInfoProto]:
    """value_info for every tensor a node of `model` produces that is neither a graph output nor
    an initializer: the IR's shape for IR tensors, ONNX shape inference's for the others."""
    ends = {v.name for v in (*model.graph.input, *model.graph.output)}
    produced = [o for node in model.graph.node for o in node.output if o and o not in ends]
    layouts = output_layouts(graph)
    known = {name: value_info(graph, name, layouts=layouts, **kw) for name in produced if name in graph.tensors}
    missing = [name for name in produced if name not in known]
    inferred = _inferred(model, weights, known.values()) if missing else {}
    return [known.get(name) or inferred[name] for name in dict.fromkeys(produced)
            if name in known or name in inferred]


def _inferred(model: onnx.ModelProto, weights: Iterable[tuple[str, np.ndarray]],
              known: Iterable[onnx.ValueInfoProto]) -> dict[str, onnx.ValueInfoProto]:
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.value_info.extend(known)
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
