"""The emitter's own protobuf encoding of ONNX messages parses (with onnx's own bindings) into
exactly what onnx.helper builds from the same arguments."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from converter.defaults import SUPPORTED_OPSETS
from converter.emit.onnx import proto

ATTRIBUTES = [
    {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [0, 1, 2, -3], "group": 2},
    {"alpha": 1e-4, "beta": 0.75, "bias": 2.0, "size": 5},
    {"to": proto.FLOAT, "keepdims": True, "axis": -1},
    {"mode": "nearest", "scales": [1.0, 2, 2.5], "names": ["a", "b"]},
    {"value": np.array([0.5], np.float32)},
]


@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_a_node_encodes_as_onnx_helper_builds_it(attributes) -> None:
    spec = proto.NodeSpec("Op", ["x", "w"], ["y"], "n/1", attributes)
    expected = helper.make_node("Op", ["x", "w"], ["y"], name="n/1", **{
        key: numpy_helper.from_array(value, "") if isinstance(value, np.ndarray) else value
        for key, value in attributes.items()})
    assert onnx.NodeProto.FromString(spec.encode()) == expected


def test_value_infos_tensors_and_models_encode_as_onnx_builds_them() -> None:
    assert onnx.ValueInfoProto.FromString(proto.value_info("x", proto.FLOAT, ["N", 3, 8])) == \
        helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3, 8])
    assert onnx.ValueInfoProto.FromString(proto.value_info("s", proto.FLOAT, [])) == \
        helper.make_tensor_value_info("s", onnx.TensorProto.FLOAT, [])
    array = np.arange(6, dtype=">f4").reshape(2, 3)
    assert onnx.TensorProto.FromString(proto.tensor("w", array)) == numpy_helper.from_array(array.astype("<f4"), "w")
    for opset in SUPPORTED_OPSETS:
        node = proto.NodeSpec("Relu", ["x"], ["y"], "r")
        encoded = proto.model("g", [node], [proto.value_info("x", proto.FLOAT, ["N"])],
                              [proto.value_info("y", proto.FLOAT, ["N"])], opset, "squeeze-convert")
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                                  [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N"])],
                                  [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N"])])
        opsets = [helper.make_opsetid("", opset)]
        expected = helper.make_model(graph, opset_imports=opsets, producer_name="squeeze-convert",
                                     doc_string="squeeze-convert")
        expected.ir_version = helper.find_min_ir_version_for(opsets)
        assert onnx.ModelProto.FromString(encoded) == expected
