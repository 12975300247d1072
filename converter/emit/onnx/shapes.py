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


def tensor_dims(shape: Sequence[int], *, batch: int | None = None, dynamic_hw: bool = False,
                graph_input: bool = False) -> list[str | int | None]:
    """The ONNX dims of an IR shape: the batch symbolic unless pinned; a 4-D tensor's H and W
    symbolic ("H", "W") on graph inputs and unknown elsewhere with `dynamic_hw`."""
    if not shape:
        return []
    dims: list[str | int | None] = [BATCH if batch is None else batch, *shape[1:]]
    if dynamic_hw and len(shape) == 4:
        dims[2:] = [HEIGHT, WIDTH] if graph_input else [None, None]
    return dims


def value_info(graph: Graph, name: str, **kw: object) -> onnx.ValueInfoProto:
    if name not in graph.tensors:
        raise KeyError(f"no IR tensor named {name!r}")
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, tensor_dims(graph.tensors[name].shape, **kw))


def intermediate_value_info(model: onnx.ModelProto, weights: Iterable[tuple[str, np.ndarray]], graph: Graph,
                            **kw: object) -> list[onnx.ValueInfoProto]:
    """value_info for every tensor a node of `model` produces that is neither a graph output nor
    an initializer: the IR's shape for IR tensors, ONNX shape inference's for the others."""
    ends = {v.name for v in (*model.graph.input, *model.graph.output)}
    produced = [o for node in model.graph.node for o in node.output if o and o not in ends]
    known = {name: value_info(graph, name, **kw) for name in produced if name in graph.tensors}
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
            probe.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        else:
            # Type and dims are all inference reads of a big weight: no copy of its values.
            probe.graph.input.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
    inferred = onnx.shape_inference.infer_shapes(probe, data_prop=True)
    return {v.name: v for v in inferred.graph.value_info}
