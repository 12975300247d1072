"""The ONNX messages the emitter writes, encoded to protobuf's wire format directly, so that
converting needs no `import onnx` (which costs more than the rest of a small conversion).

Field numbers are onnx.proto's (onnx/onnx-ml.proto, proto2): ModelProto ir_version 1,
producer_name 2, doc_string 6, graph 7, opset_import 8, metadata_props 14; OperatorSetIdProto
domain 1, version 2; GraphProto node 1, name 2, initializer 5, input 11, output 12; NodeProto
input 1, output 2, name 3, op_type 4, attribute 5; AttributeProto name 1, f 2, i 3, s 4, t 5,
floats 7, ints 8, strings 9, type 20; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1, dim_param 2;
TensorProto dims 1, data_type 2, name 8, raw_data 9; StringStringEntryProto key 1, value 2.
Repeated numbers are written unpacked, as proto2 does without [packed=true]; attributes are
sorted by name, as onnx.helper.make_node sorts them, so a parsed model equals onnx.helper's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# TensorProto.DataType
FLOAT, UINT8, INT8, INT32, INT64, BOOL, DOUBLE = 1, 2, 3, 6, 7, 9, 11
DATA_TYPES = {
    np.dtype(np.float32): FLOAT,
    np.dtype(np.float64): DOUBLE,
    np.dtype(np.int64): INT64,
    np.dtype(np.int32): INT32,
    np.dtype(np.int8): INT8,
    np.dtype(np.uint8): UINT8,
    np.dtype(np.bool_): BOOL,
}
NUMPY_TYPES = {code: dtype for dtype, code in DATA_TYPES.items()}
# AttributeProto.AttributeType
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_TENSOR, _ATTR_GRAPH = 1, 2, 3, 4, 5
_ATTR_FLOATS, _ATTR_INTS, _ATTR_STRINGS = 6, 7, 8
# The lowest IR version each default-domain opset needs (onnx.helper's VERSION_TABLE).
IR_VERSION_FOR_OPSET = {11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}


def varint(value: int) -> bytes:
    """Protobuf base-128 varint; a negative int64 as its 10-byte two's complement."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def length_delimited(number: int, payload: bytes | memoryview) -> bytes:
    """The key and length of a length-delimited field; the payload is appended by the caller
    when it is large (so it can be written straight to a file)."""
    return varint(number << 3 | 2) + varint(len(payload)) + bytes(payload)


def integer(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(int(value))


def text(number: int, value: str | bytes) -> bytes:
    return length_delimited(number, value.encode() if isinstance(value, str) else value)


def tensor_header(name: str, array: np.ndarray) -> bytes:
    """A TensorProto's name (unset when empty), dims and data_type (everything but raw_data, field 9)."""
    dtype = array.dtype.newbyteorder("=")
    if dtype not in DATA_TYPES:
        raise TypeError(f"initializer {name}: unsupported dtype {array.dtype}")
    named = text(8, name) if name else b""
    return b"".join(integer(1, d) for d in array.shape) + integer(2, DATA_TYPES[dtype]) + named


def tensor(name: str, array: np.ndarray) -> bytes:
    """A whole TensorProto, raw_data little-endian."""
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return tensor_header(name, array) + length_delimited(9, data)


def _is_proto_message(value: Any) -> bool:
    return hasattr(value, "SerializeToString") and hasattr(value, "DESCRIPTOR")


def attribute(name: str, value: Any) -> bytes:
    """An AttributeProto, its type inferred as onnx.helper.make_attribute infers it: bool and int
    INT, float FLOAT, str/bytes STRING, an array (or a TensorProto) TENSOR, a sequence of ints
    INTS, of numbers with a float among them FLOATS, of strings STRINGS."""
    head = text(1, name)
    if isinstance(value, (bool, int, np.integer)):
        return head + integer(3, int(value)) + integer(20, _ATTR_INT)
    if isinstance(value, (float, np.floating)):
        return head + varint(2 << 3 | 5) + struct.pack("<f", float(value)) + integer(20, _ATTR_FLOAT)
    if isinstance(value, (str, bytes)):
        return head + text(4, value) + integer(20, _ATTR_STRING)
    if isinstance(value, np.ndarray):
        return head + length_delimited(5, tensor("", value)) + integer(20, _ATTR_TENSOR)  # unnamed, as numpy_helper
    if _is_proto_message(value) and value.DESCRIPTOR.name == "GraphProto":
        return head + length_delimited(6, value.SerializeToString()) + integer(20, _ATTR_GRAPH)
    if _is_proto_message(value):
        return head + length_delimited(5, value.SerializeToString()) + integer(20, _ATTR_TENSOR)
    values = list(value)
    if values and all(isinstance(v, (bool, int, np.integer)) for v in values):
        return head + b"".join(integer(8, int(v)) for v in values) + integer(20, _ATTR_INTS)
    if values and all(isinstance(v, (bool, int, float, np.integer, np.floating)) for v in values):
        floats = b"".join(varint(7 << 3 | 5) + struct.pack("<f", float(v)) for v in values)
        return head + floats + integer(20, _ATTR_FLOATS)
    if values and all(isinstance(v, (str, bytes)) for v in values):
        return head + b"".join(text(9, v) for v in values) + integer(20, _ATTR_STRINGS)
    raise ValueError(f"attribute {name}: cannot tell the ONNX type of {value!r}")


@dataclass
class NodeSpec:
    """One ONNX node before encoding (what onnx.helper.make_node takes)."""

    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    # Already encoded (a NodeProto an emitter built with onnx.helper): attributes unknown here.
    raw: bytes | None = None

    @classmethod
    def of(cls, node: Any) -> NodeSpec:
        """A NodeSpec as is, or an onnx NodeProto wrapped as an encoded one."""
        if isinstance(node, NodeSpec):
            return node
        return cls(node.op_type, list(node.input), list(node.output), node.name, raw=node.SerializeToString())

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return (b"".join(text(1, t) for t in self.inputs) + b"".join(text(2, t) for t in self.outputs)
                + text(3, self.name) + text(4, self.op_type)
                + b"".join(length_delimited(5, attribute(key, value))
                           for key, value in sorted(self.attributes.items())))


def _dimension(dim: int | str | None) -> bytes:
    if dim is None:
        return b""  # a dim of unknown size
    return text(2, dim) if isinstance(dim, str) else integer(1, dim)


def value_info(name: str, elem_type: int, dims: Sequence[int | str | None] | None) -> bytes:
    """A tensor's ValueInfoProto; dims as ints, symbolic names or None (unknown), or dims None for
    no shape at all."""
    tensor_type = integer(1, elem_type)
    if dims is not None:
        tensor_type += length_delimited(2, b"".join(length_delimited(1, _dimension(d)) for d in dims))
    return text(1, name) + length_delimited(2, length_delimited(1, tensor_type))


def metadata_props(metadata: Mapping[str, object]) -> bytes:
    """ModelProto.metadata_props entries (values as str(value)); appended to a model, they add to it."""
    return b"".join(length_delimited(14, text(1, str(key)) + text(2, str(value))) for key, value in metadata.items())


def model(graph_name: str, nodes: Iterable[NodeSpec], inputs: Iterable[bytes], outputs: Iterable[bytes],
          opset: int, producer: str, *, producer_version: str | None = None, doc: str | None = None) -> bytes:
    """A ModelProto without initializers or value_info (both can be appended as further graph
    fields: protobuf merges repeated occurrences of a message field); `doc` defaults to `producer`."""
    graph = (b"".join(length_delimited(1, node.encode()) for node in nodes) + text(2, graph_name)
             + b"".join(length_delimited(11, i) for i in inputs) + b"".join(length_delimited(12, o) for o in outputs))
    opset_import = text(1, "") + integer(2, opset)
    version = text(3, producer_version) if producer_version is not None else b""
    doc_string = text(6, producer if doc is None else doc)
    return (integer(1, IR_VERSION_FOR_OPSET[opset]) + text(2, producer) + version + doc_string
            + length_delimited(7, graph) + length_delimited(8, opset_import))


def graph_value_infos(infos: Iterable[bytes]) -> bytes:
    """GraphProto.value_info entries, as a ModelProto fragment to append to a model."""
    entries = b"".join(length_delimited(13, info) for info in infos)
    return length_delimited(7, entries) if entries else b""
