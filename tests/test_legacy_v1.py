"""Legacy V1 nets (`layers { type: CONVOLUTION }`, top-level input/input_dim, 4-D legacy blob
shapes) convert to the same numbers Caffe computed for the current-format net."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from google.protobuf import text_format

from conftest import golden_case, shared_path
from converter.caffe import caffe_pb2

# Caffe's UpgradeV1LayerType (src/caffe/util/upgrade_proto.cpp): the type string every V1 enum
# value becomes. NONE becomes "" there, which no layer registry knows.
CAFFE_V1_TYPES = {
    "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL", "CONCAT": "Concat",
    "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution", "DECONVOLUTION": "Deconvolution",
    "DATA": "Data", "DROPOUT": "Dropout", "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss",
    "ELTWISE": "Eltwise", "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data",
    "HDF5_OUTPUT": "HDF5Output", "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN", "MEMORY_DATA": "MemoryData",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "MVN": "MVN", "POOLING": "Pooling",
    "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid", "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
    "SILENCE": "Silence", "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split",
    "SLICE": "Slice", "TANH": "TanH", "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
}
V1_ENUMS = {name: enum for enum, name in CAFFE_V1_TYPES.items()}


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
            v1.type = caffe_pb2.V1LayerParameter.LayerType.Value(V1_ENUMS[layer.type])
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
    pipeline.emit(conversion)  # verified below, and run here too
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    for backend in ("reference", "onnxruntime", "pytorch"):
        assert any(c.backend == backend and c.truth == "caffe" for c in report.comparisons), backend
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": blobs["input|data"]})
    expected = blobs["output|prob"]
    assert np.abs(prob - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def _length_delimited(field: int, payload: bytes) -> bytes:
    """One protobuf length-delimited field (tag, varint length, payload)."""
    out, value = bytearray(), len(payload)
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes([field << 3 | 2]) + bytes(out) + payload


def legacy_blob_bytes(blob: np.ndarray) -> bytes:
    """A BlobProto with num/channels/height/width and packed float data (field 5), built as raw bytes:
    protobuf's Python API is far too slow for AlexNet's 60 M values."""
    legacy = [1] * (4 - blob.ndim) + list(blob.shape)
    head = caffe_pb2.BlobProto(num=legacy[0], channels=legacy[1], height=legacy[2], width=legacy[3])
    return head.SerializeToString() + _length_delimited(5, np.ascontiguousarray(blob, "<f4").tobytes())


def v1_caffemodel_bytes(v1_net: caffe_pb2.NetParameter, weights: dict[str, list[np.ndarray]]) -> bytes:
    """`v1_net` serialized with `weights` appended to its V1 layers as legacy blobs (field 6 of a V1
    layer, which is field 2 of the net; protobuf merges repeated fields across concatenation)."""
    head = caffe_pb2.NetParameter()
    head.CopyFrom(v1_net)
    del head.layers[:]
    parts = [head.SerializeToString()]
    for layer in v1_net.layers:
        blobs = b"".join(_length_delimited(6, legacy_blob_bytes(b)) for b in weights.get(layer.name, ()))
        parts.append(_length_delimited(2, layer.SerializeToString() + blobs))
    return b"".join(parts)


def any_to_v1(net: caffe_pb2.NetParameter, input_shape: list[int] | None = None) -> caffe_pb2.NetParameter:
    """`net` as V1 `layers` (enum types, every *_param and include/exclude copied), with top-level
    input/input_dim instead of an Input layer when `input_shape` is given."""
    v1_net = caffe_pb2.NetParameter(name=net.name)
    if input_shape is not None:
        v1_net.input.append("data")
        v1_net.input_dim.extend(input_shape)
    v1_fields = caffe_pb2.V1LayerParameter.DESCRIPTOR.fields_by_name
    for layer in net.layer:
        if layer.type == "Input":
            continue
        v1 = v1_net.layers.add(name=layer.name, bottom=layer.bottom, top=layer.top, include=layer.include,
                               exclude=layer.exclude)
        v1.type = caffe_pb2.V1LayerParameter.LayerType.Value(V1_ENUMS[layer.type])
        for field, value in layer.ListFields():
            if field.name.endswith("_param") and field.name in v1_fields:
                getattr(v1, field.name).CopyFrom(value)
    return v1_net


@pytest.mark.parametrize("model", ["bvlc_alexnet", "bvlc_reference_caffenet", "bvlc_googlenet"])
def test_bvlc_nets_current_and_v1_match_opencv(model, tmp_path):
    """BVLC's nets against OpenCV's own Caffe importer, each converted from its current-format files
    and from the same net and weights as V1 files: V1 enums CONVOLUTION, RELU, POOLING, LRN,
    INNER_PRODUCT, DROPOUT, CONCAT, SOFTMAX, with 4-D legacy blobs (InnerProduct weights as
    (1, 1, N, K), biases as (1, 1, 1, N)) and input_dim. The logits and the softmax of both
    conversions are compared with what OpenCV computes from either pair of files (its importer
    upgrades V1 itself). (This was two tests, one per format; tests/test_zoo.py ran the current
    format at the deploy size.)"""
    import onnxruntime as ort

    from converter import pipeline
    from converter.caffe.caffemodel import write_caffemodel
    from converter.caffe.loader import build_net
    from converter.caffe.synthetic import synthetic_blobs
    from converter.emit.onnx import emit_onnx

    prototxt = shared_path("reference_models", "bvlc", model, "deploy.prototxt")
    # AlexNet/CaffeNet at 99x99 leave pool5 2x2, so fc6 holds 4 M weights instead of 38 M (test speed).
    shape = [1, 3, 224, 224] if model == "bvlc_googlenet" else [2, 3, 99, 99]
    current = text_format.Parse(prototxt.read_text(), caffe_pb2.NetParameter())
    assert {"LRN", "InnerProduct"} <= {layer.type for layer in current.layer}
    weights = synthetic_blobs(build_net(current, {"data": tuple(shape)}), seed=9)
    write_caffemodel(tmp_path / "w.caffemodel", current, weights)
    (tmp_path / "v1.prototxt").write_text(text_format.MessageToString(any_to_v1(current, input_shape=shape)))
    (tmp_path / "v1.caffemodel").write_bytes(v1_caffemodel_bytes(any_to_v1(current), weights))
    assert "layers {" in (tmp_path / "v1.prototxt").read_text()

    x = np.random.default_rng(5).uniform(-50, 50, shape).astype(np.float32)
    pairs = {"current": (prototxt, tmp_path / "w.caffemodel"),
             "v1": (tmp_path / "v1.prototxt", tmp_path / "v1.caffemodel")}
    ours = {}
    for form, (net_file, weights_file) in pairs.items():
        conversion = pipeline.convert(net_file, weights_file, input_shapes={"data": tuple(shape)})
        logits = conversion.graph.producer("prob").inputs[0]
        caffe_logits = conversion.graph.tensors[logits].sources[-1][1]
        model_proto = emit_onnx(conversion.graph, extra_outputs=[logits]).SerializeToString()
        session = ort.InferenceSession(model_proto, providers=["CPUExecutionProvider"])
        ours[form] = session.run([logits, "prob"], {"data": x})
    for cv_form, files in pairs.items():
        cv_net = cv2.dnn.readNetFromCaffe(*map(str, files))
        cv_net.setInput(x)
        theirs = cv_net.forward([caffe_logits, "prob"])
        for form, outputs in ours.items():
            for actual, expected in zip(outputs, theirs, strict=True):
                expected = np.asarray(expected)
                err = np.abs(actual.reshape(expected.shape) - expected).max()
                assert err <= 1e-4 * max(1.0, np.abs(expected).max()), (form, cv_form, err)


def test_v1_train_val_keeps_the_test_phase_and_drops_training_layers(tmp_path):
    """SqueezeNet v1.1's train_val as V1 (DATA with include { phase }, SOFTMAX_LOSS, ACCURACY): the same
    layers, input and outputs as the current-format file."""
    from converter.caffe.loader import build_net

    path = shared_path("reference_models", "deepscale_squeezenet_v1.1", "train_val.prototxt")
    current = text_format.Parse(path.read_text(), caffe_pb2.NetParameter())
    v1 = any_to_v1(current)
    assert [layer.type for layer in v1.layers[:2]] == [caffe_pb2.V1LayerParameter.DATA] * 2
    shapes = {"data": (2, 3, 227, 227)}
    old, new = build_net(v1, shapes), build_net(current, shapes)
    assert [(layer.name, layer.type, layer.top_shapes) for layer in old.layers] == \
        [(layer.name, layer.type, layer.top_shapes) for layer in new.layers]
    assert old.inputs == new.inputs == shapes and old.outputs == new.outputs
    assert not {"Data", "SoftmaxWithLoss", "Accuracy"} & {layer.type for layer in old.layers}


def test_the_v1_enum_is_caffes_plus_deeplab_v1s():
    # DeepLab v1's types (deeplab-public's caffe.proto, as in TheLegendAli/DeepLab-Context).
    deeplab = {
        "IMAGE_SEG_DATA", "SEG_ACCURACY", "INTERP", "PADDING", "MAT_WRITE", "MAT_READ", "DENSE_CRF",
        "DOMINANT_CHANNEL", "BIAS_CHANNEL", "UNIQUE_LABEL", "CENSOR_LABEL", "ADAPTIVE_BIAS_CHANNEL",
        "CHANNEL_AGGREGATOR", "IGNORE_OVERLAY", "HISTOGRAM", "RELATIVE_ERROR", "GAIN_CHANNEL", "ONEHOT",
    }
    assert set(caffe_pb2.V1LayerParameter.LayerType.keys()) == {"NONE", *CAFFE_V1_TYPES, *deeplab}


@pytest.mark.parametrize("enum_name", sorted(CAFFE_V1_TYPES))
def test_every_v1_type_upgrades_to_caffes_name(enum_name):
    from converter.caffe.upgrade import upgrade_v1_layer

    v1 = caffe_pb2.V1LayerParameter(name="l", type=caffe_pb2.V1LayerParameter.LayerType.Value(enum_name))
    assert upgrade_v1_layer(v1).type == CAFFE_V1_TYPES[enum_name]


# DeepLab v1 (deeplab-public, V1 format): its own V1 types and the convolution's `hole`, as in
# DeepLab-LargeFOV's test.prototxt (IMAGE_SEG_DATA with data/label/data_dim tops, SEG_ACCURACY).
DEEPLAB_V1 = """
name: "deeplab-largefov-like"
layers { name: "data" type: IMAGE_SEG_DATA top: "data" top: "label" top: "data_dim"
  image_data_param { root_folder: "/x" source: "list.txt" batch_size: 1 label_type: NONE }
  transform_param { mean_value: 104 mean_value: 117 mean_value: 123 crop_size: 9 } }
layers { name: "fc6" type: CONVOLUTION bottom: "data" top: "fc6"
  convolution_param { num_output: 4 kernel_size: 3 hole: 2 } }
layers { name: "relu6" type: RELU bottom: "fc6" top: "fc6" }
layers { name: "fc7" type: CONVOLUTION bottom: "fc6" top: "fc7"
  convolution_param { num_output: 2 kernel_size: 3 hole_h: 1 hole_w: 2 } }
layers { name: "accuracy" type: SEG_ACCURACY bottom: "fc7" bottom: "label" top: "accuracy"
  seg_accuracy_param { ignore_label: 255 } }
"""


def test_deeplab_v1_types_and_holes():
    from converter.caffe.loader import build_net

    net = build_net(text_format.Parse(DEEPLAB_V1, caffe_pb2.NetParameter()), {"data": (1, 3, 9, 9)})
    assert net.inputs == {"data": (1, 3, 9, 9)}  # the data layer's image top; label only fed SEG_ACCURACY
    assert [(layer.name, layer.type) for layer in net.layers] == [
        ("fc6", "Convolution"), ("relu6", "ReLU"), ("fc7", "Convolution")]
    fc6, _, fc7 = net.layers
    assert list(fc6.param.convolution_param.dilation) == [2]
    assert list(fc7.param.convolution_param.dilation) == [1, 2]
    assert not fc6.param.convolution_param.HasField("hole")
    # DeepLab's effective kernel is k + (k - 1) * (hole - 1): 5 for 3 with hole 2.
    assert fc6.top_shapes == [(1, 4, 5, 5)]
    assert fc7.top_shapes == [(1, 2, 3, 1)]


def test_deeplab_v1_interp_type_is_named():
    from converter.caffe.upgrade import upgrade_net

    text = 'layers { name: "up" type: INTERP bottom: "x" top: "y" interp_param { zoom_factor: 8 } }'
    layer = upgrade_net(text_format.Parse(text, caffe_pb2.NetParameter())).layer[0]
    assert (layer.type, layer.interp_param.zoom_factor) == ("Interp", 8)


def test_deeplab_v1_hole_with_hole_h_is_refused():
    from converter.caffe.upgrade import upgrade_net
    from converter.errors import ModelError

    text = 'layers { name: "c" type: CONVOLUTION convolution_param { num_output: 1 kernel_size: 3 hole: 2 hole_h: 2 } }'
    with pytest.raises(ModelError, match="layer 'c'.*hole"):
        upgrade_net(text_format.Parse(text, caffe_pb2.NetParameter()))


def test_hole_in_a_current_format_layer_is_dilation_too():
    from converter.caffe.loader import build_net

    text = ('input: "data" input_shape { dim: 1 dim: 1 dim: 9 dim: 9 }\n'
            'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
            'convolution_param { num_output: 1 kernel_size: 3 hole: 3 } }')
    proto = text_format.Parse(text, caffe_pb2.NetParameter())
    (conv,) = build_net(proto).layers
    assert list(conv.param.convolution_param.dilation) == [3] and conv.top_shapes == [(1, 1, 3, 3)]
    assert proto.layer[0].convolution_param.hole == 3  # the caller's message is left as it was
