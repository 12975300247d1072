"""Issue 13: what a viewer (Netron) shows of an emitted model: value_info for every intermediate
tensor, agreeing with ONNX's own checker and shape inference on every reference model; producer name
and version; a doc string naming the source; the input layout with the batch as N."""

from __future__ import annotations

from importlib.metadata import version

import onnx
import pytest
from reference_nets import REFERENCE_NETS, reference_graph


def checkable(export) -> onnx.ModelProto:  # noqa: ANN001 - an OnnxModel
    """The model with its big weights as graph inputs of the same type and dims (the checker and
    shape inference read nothing else of them): AlexNet's 240 MB are not copied around."""
    from onnx import numpy_helper

    model = export.header()
    for name, array in export.weights:
        if array.nbytes > 1 << 16:
            model.graph.input.append(onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
        else:
            model.graph.initializer.append(numpy_helper.from_array(array, name))
    return model


def dims(value: onnx.ValueInfoProto) -> list[str | int | None]:
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
            for d in value.type.tensor_type.shape.dim]


@pytest.mark.parametrize("name", sorted(REFERENCE_NETS))
def test_value_info_for_every_intermediate_agrees_with_onnx_shape_inference(name: str) -> None:
    from converter.emit.onnx import build_onnx
    from converter.emit.onnx.shapes import output_layouts

    graph = reference_graph(name)
    model = checkable(build_onnx(graph))
    onnx.checker.check_model(model, full_check=True)
    # strict: a value_info contradicting what inference derives raises.
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)

    ends = {v.name for v in (*model.graph.input, *model.graph.output)}
    produced = [o for node in model.graph.node for o in node.output if o not in ends]
    ours = {v.name: v for v in model.graph.value_info}
    assert sorted(ours) == sorted(produced)
    layouts = output_layouts(graph)
    for tensor in produced:
        if tensor in graph.tensors:
            batch_axis, run_time_dims = layouts[tensor]
            expected = list(graph.tensors[tensor].shape)
            if batch_axis is not None:  # the batch as N; a PriorBox constant (and its Concat) has none
                expected[batch_axis] = "N"
            expected = [run_time_dims.get(axis, d) for axis, d in enumerate(expected)]  # DetectionOutput's rows
            assert dims(ours[tensor]) == expected, tensor

    # Inference alone, from the inputs, derives the same shapes for the IR's tensors.
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]
    inferred = {v.name: dims(v) for v in onnx.shape_inference.infer_shapes(bare, data_prop=True).graph.value_info}
    compared = [t for t in produced if t in graph.tensors and t in inferred]
    assert len(compared) >= 0.9 * len([t for t in produced if t in graph.tensors])
    for tensor in compared:
        assert inferred[tensor] == dims(ours[tensor]), tensor


def test_producer_doc_string_and_input_layout() -> None:
    from converter.emit.onnx import build_onnx

    model = build_onnx(reference_graph("squeezenet_v1.1")).header()
    assert model.producer_name == "squeeze-convert"
    assert model.producer_version == version("squeeze-convert") != ""
    assert "deploy.prototxt" in model.doc_string and "Caffe" in model.doc_string
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["input.data"] == "NCHW float32 Nx3x227x227"
    assert dims(model.graph.input[0]) == ["N", 3, 227, 227]
