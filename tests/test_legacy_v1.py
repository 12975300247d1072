"""Legacy V1 nets (`layers { type: CONVOLUTION }`, top-level input/input_dim, 4-D legacy blob
shapes) convert to the same numbers Caffe computed for the current-format net."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import text_format

from conftest import golden_case
from converter.caffe import caffe_pb2

V1_TYPES = {"Convolution": "CONVOLUTION", "ReLU": "RELU", "Pooling": "POOLING", "Concat": "CONCAT",
            "Dropout": "DROPOUT", "Softmax": "SOFTMAX"}


def to_v1(deploy: caffe_pb2.NetParameter, weights: caffe_pb2.NetParameter,
          input_shape: list[int]) -> tuple[caffe_pb2.NetParameter, caffe_pb2.NetParameter]:
    """The same net as a V1 definition and a V1 caffemodel with num/channels/height/width blobs."""
    proto, model = caffe_pb2.NetParameter(name=deploy.name), caffe_pb2.NetParameter(name=deploy.name)
    proto.input.append("data")
    proto.input_dim.extend(input_shape)
    blobs = {layer.name: layer.blobs for layer in weights.layer}
    for layer in deploy.layer:
        if layer.type == "Input":
            continue
        for target in (proto, model):
            v1 = target.layers.add(name=layer.name, bottom=layer.bottom, top=layer.top)
            v1.type = caffe_pb2.V1LayerParameter.LayerType.Value(V1_TYPES[layer.type])
            for field in ("convolution_param", "pooling_param", "concat_param", "dropout_param"):
                if layer.HasField(field):
                    getattr(v1, field).CopyFrom(getattr(layer, field))
            if target is model:
                for blob in blobs.get(layer.name, ()):
                    dims = list(blob.shape.dim)
                    legacy = [1] * (4 - len(dims)) + dims
                    old = v1.blobs.add(num=legacy[0], channels=legacy[1], height=legacy[2], width=legacy[3])
                    old.data.extend(blob.data)
                v1.blobs_lr.extend([1.0, 2.0][: len(v1.blobs)])
    return proto, model


@pytest.fixture(scope="module")
def v1_files(tmp_path_factory):
    case = golden_case("squeezenet_v1.1")
    deploy = text_format.Parse(case["prototxt_path"].read_text(), caffe_pb2.NetParameter())
    weights = caffe_pb2.NetParameter()
    weights.ParseFromString(case["weights_path"].read_bytes())
    proto, model = to_v1(deploy, weights, case["input_shape"])
    folder = tmp_path_factory.mktemp("v1")
    (folder / "deploy.prototxt").write_text(text_format.MessageToString(proto))
    (folder / "weights.caffemodel").write_bytes(model.SerializeToString())
    return case, folder


def test_v1_files_really_are_v1(v1_files):
    _, folder = v1_files
    text = (folder / "deploy.prototxt").read_text()
    assert "layers {" in text and "type: CONVOLUTION" in text and "layer {" not in text
    assert "input_dim: 227" in text


def test_v1_squeezenet_gives_caffes_numbers(v1_files):
    import onnxruntime as ort

    from converter import pipeline
    from converter.ir import Fire

    case, folder = v1_files
    conversion = pipeline.convert(folder / "deploy.prototxt", folder / "weights.caffemodel")
    assert len(list(conversion.graph.nodes_of(Fire))) == 8
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    pipeline.emit(conversion)
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": blobs["input|data"]})
    expected = blobs["output|prob"]
    assert np.abs(prob - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
