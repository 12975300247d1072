"""Compact ONNX: Deep Compression weights kept the way the .net file stores them, expanded in the graph.

For each quantised weight the model holds the layer's float32 codebook, its stored codes (uint8, one
a byte, or two 4-bit codes a byte) and its gaps (two 4-bit values a byte), byte for byte as in the
.net, so the file is about the size of the .net. A few standard ops rebuild the dense tensor exactly
as the decoder does: positions = cumsum(gap + 1) - 1; the codes scattered into zeros of the weight's
size; weight = reshape(codebook[codes]). Everything feeding a weight is constant, so ONNX Runtime
folds it once when the session is created.

Storing one uint8 code per weight value instead (pruned ones as code 0) is simpler but twice the
.net's size for SqueezeNet (1.24 M values, 0.42 M of them kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from converter.emit.onnx import OnnxModel

EXPANSION = "expand:"  # the name prefix of every node that rebuilds a weight
# Shared constants of the expansion subgraphs.
_SIXTEEN, _ONE, _ZERO_AXIS = "compact/sixteen", "compact/one", "compact/axis0"
_COLUMN, _FLAT, _SLICE_START = "compact/column_shape", "compact/flat_shape", "compact/slice_start"


@dataclass(frozen=True)
class StoredWeight:
    """A weight in codebook form: value i of the dense weight is codebook[code i], the codes of the
    `count` stored values given with their gaps (distance minus one from the previous stored
    value; codes of the others are 0)."""

    codebook: np.ndarray  # float32, 2**bits entries
    packed_codes: np.ndarray  # uint8: one code a byte (8 bits), or two 4-bit codes a byte, low nibble first
    packed_gaps: np.ndarray  # uint8: two 4-bit gaps a byte, low nibble first
    count: int  # stored values
    bits: int  # 8 or 4
    weight_shape: tuple[int, ...]


def _constants() -> list[TensorProto]:
    return [numpy_helper.from_array(np.array(16, np.int32), _SIXTEEN),
            numpy_helper.from_array(np.array(1, np.int32), _ONE),
            numpy_helper.from_array(np.array(0, np.int32), _ZERO_AXIS),
            numpy_helper.from_array(np.array([-1, 1], np.int64), _COLUMN),
            numpy_helper.from_array(np.array([-1], np.int64), _FLAT),
            numpy_helper.from_array(np.array([0], np.int64), _SLICE_START)]


def _unpack_nibbles(packed: str, count: str, out: str) -> list[onnx.NodeProto]:
    """int32 values of the first `count` 4-bit fields of `packed` (uint8), low nibble first."""
    p = f"{out}/"
    return [
        helper.make_node("Reshape", [packed, _COLUMN], [p + "column"]),
        helper.make_node("Cast", [p + "column"], [p + "int"], to=TensorProto.INT32),
        helper.make_node("Mod", [p + "int", _SIXTEEN], [p + "low"]),
        helper.make_node("Div", [p + "int", _SIXTEEN], [p + "high"]),
        helper.make_node("Concat", [p + "low", p + "high"], [p + "pairs"], axis=1),
        helper.make_node("Reshape", [p + "pairs", _FLAT], [p + "all"]),
        helper.make_node("Slice", [p + "all", _SLICE_START, count], [out]),
    ]


def _expansion(name: str, stored: StoredWeight) -> tuple[list[TensorProto], list[onnx.NodeProto]]:
    """Initializers and nodes that compute the dense weight `name` from its stored form."""
    p = f"{name}/expand/"
    size = int(np.prod(stored.weight_shape))
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(stored.codebook, np.float32), f"{name}.codebook"),
        numpy_helper.from_array(np.ascontiguousarray(stored.packed_codes, np.uint8), f"{name}.codes"),
        numpy_helper.from_array(np.ascontiguousarray(stored.packed_gaps, np.uint8), f"{name}.gaps"),
        numpy_helper.from_array(np.array([stored.count], np.int64), f"{name}.count"),
        numpy_helper.from_array(np.array([size], np.int64), f"{name}.size"),
        numpy_helper.from_array(np.array(stored.weight_shape, np.int64), f"{name}.shape"),
    ]
    if stored.bits == 8:
        codes = [helper.make_node("Cast", [f"{name}.codes"], [p + "codes"], to=TensorProto.INT32)]
    else:
        codes = _unpack_nibbles(f"{name}.codes", f"{name}.count", p + "codes")
    nodes = [
        *codes,
        *_unpack_nibbles(f"{name}.gaps", f"{name}.count", p + "gaps"),
        helper.make_node("Add", [p + "gaps", _ONE], [p + "steps"]),
        helper.make_node("CumSum", [p + "steps", _ZERO_AXIS], [p + "ends"]),
        helper.make_node("Sub", [p + "ends", _ONE], [p + "positions"]),
        helper.make_node("ConstantOfShape", [f"{name}.size"], [p + "zeros"],
                         value=numpy_helper.from_array(np.zeros(1, np.int32))),
        helper.make_node("ScatterElements", [p + "zeros", p + "positions", p + "codes"], [p + "all_codes"], axis=0),
        helper.make_node("Gather", [f"{name}.codebook", p + "all_codes"], [p + "values"], axis=0),
        helper.make_node("Reshape", [p + "values", f"{name}.shape"], [name]),
    ]
    for i, node in enumerate(nodes):
        node.name = f"{EXPANSION}{name}/{i}"
    return initializers, nodes


def compact_onnx(model: OnnxModel, stored_weights: Mapping[str, StoredWeight]) -> onnx.ModelProto:
    """`model` with each initializer named in `stored_weights` replaced by its stored form and the
    nodes that expand that into the same tensor."""
    compact = model.header()
    expansions: list[onnx.NodeProto] = []
    if stored_weights:
        compact.graph.initializer.extend(_constants())
    for name, array in model.weights:
        stored = stored_weights.get(name)
        if stored is None:
            compact.graph.initializer.append(numpy_helper.from_array(array, name))
            continue
        if tuple(array.shape) != tuple(stored.weight_shape):
            raise ValueError(f"{name}: the stored weight has shape {stored.weight_shape}, "
                             f"the model's {array.shape}")
        initializers, nodes = _expansion(name, stored)
        compact.graph.initializer.extend(initializers)
        expansions += nodes
    missing = sorted(set(stored_weights) - {name for name, _ in model.weights})
    if missing:
        raise ValueError(f"no initializer for {', '.join(missing)}")
    nodes = list(compact.graph.node)
    del compact.graph.node[:]
    compact.graph.node.extend(expansions + nodes)
    return compact


def expanded_names(compact: onnx.ModelProto) -> list[str]:
    """The weights the compact model keeps in stored form (each the output of its expansion)."""
    initializers = {t.name for t in compact.graph.initializer}
    produced = {name for node in compact.graph.node if node.name.startswith(EXPANSION) for name in node.output}
    used = {name for node in compact.graph.node if not node.name.startswith(EXPANSION) for name in node.input}
    return sorted((produced & used) - initializers)


def expanded_weights(compact: onnx.ModelProto, names: list[str]) -> dict[str, np.ndarray]:
    """The dense tensors the compact model's expansion nodes compute, run by ONNX Runtime."""
    import onnxruntime as ort

    nodes = [node for node in compact.graph.node if node.name.startswith(EXPANSION)]
    used = {name for node in nodes for name in node.input}
    graph = helper.make_graph(nodes, "expansion", [],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names],
                              [t for t in compact.graph.initializer if t.name in used])
    model = helper.make_model(graph, opset_imports=list(compact.opset_import), ir_version=compact.ir_version)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip(names, session.run(names, {}), strict=True))
