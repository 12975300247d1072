"""Issue 4: beyond SqueezeNet. Golden MobileNets and layer_zoo against real Caffe's blobs (with and
without BatchNorm folding), and train_val and SSD nets against OpenCV's own Caffe importer (the BVLC
nets: tests/test_legacy_v1.py, from their current-format and V1 files)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import golden_case, shared_path
from converter import pipeline


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, what
    err = float(np.abs(actual.astype(np.float64) - expected).max())
    assert err <= 1e-4 * max(1.0, float(np.abs(expected).max())), f"{what}: {err:.3g}"


@pytest.mark.parametrize("fold", [False, True], ids=["plain", "folded"])
@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "layer_zoo"])
def test_golden_case_matches_caffe(name, fold):
    import onnxruntime as ort
    import torch

    case = golden_case(name)
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                  input_shapes={case["input_name"]: tuple(case["input_shape"])}, fold_batchnorm=fold)
    pipeline.emit(conversion)  # verified below, and run here too
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    assert {c.backend for c in report.comparisons} == {"reference", "onnxruntime", "pytorch"}
    blobs = np.load(case["blobs_path"])
    x = blobs[f"input|{case['input_name']}"]
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    from converter.emit.torch import load_module

    with torch.no_grad():
        torch_out = load_module(conversion.torch_export)(torch.from_numpy(x))
    torch_out = torch_out if isinstance(torch_out, tuple) else (torch_out,)
    for i, top in enumerate(case["outputs"]):
        (onnx_out,) = session.run([conversion.graph.outputs[i]], {case["input_name"]: x})
        assert_close(onnx_out, blobs[f"output|{top}"], f"ONNX {top}")
        assert_close(torch_out[i].numpy(), blobs[f"output|{top}"], f"PyTorch {top}")


def test_folding_removes_batchnorm_and_scale():
    from converter.ir import BatchNorm, Scale

    case = golden_case("mobilenet_v1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], fold_batchnorm=True)
    assert not list(conversion.graph.nodes_of(BatchNorm)) and not list(conversion.graph.nodes_of(Scale))


def test_train_val_converts_like_its_deploy_form(tmp_path):
    """SqueezeNet-Residual's trainval: data layer -> input of the given shape, loss/accuracy dropped,
    TEST phase; compared with OpenCV running a deploy rewrite the test makes itself."""
    import onnxruntime as ort
    from google.protobuf import text_format

    from converter.caffe import caffe_pb2
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.ir import Eltwise, Fire

    trainval = shared_path("reference_models", "squeezenet_residual", "trainval.prototxt")
    shape = (1, 3, 227, 227)
    weights = tmp_path / "w.caffemodel"
    write_synthetic_weights(trainval, weights, seed=6, input_shapes={"data": shape})
    conversion = pipeline.convert(trainval, weights, input_shapes={"data": shape})
    assert not {"Data", "SoftmaxWithLoss", "Accuracy"} & {layer.type for layer in conversion.net.layers}
    assert len(list(conversion.graph.nodes_of(Fire))) == 8 and list(conversion.graph.nodes_of(Eltwise))

    source = text_format.Parse(trainval.read_text(), caffe_pb2.NetParameter())
    deploy = caffe_pb2.NetParameter(name="deploy", input=["data"])
    deploy.input_shape.add().dim.extend(shape)
    for layer in source.layer:
        is_test = not layer.include or any(not rule.HasField("phase") or rule.phase == caffe_pb2.TEST
                                           for rule in layer.include)
        if is_test and layer.type not in ("Data", "SoftmaxWithLoss", "Accuracy"):
            deploy.layer.add().CopyFrom(layer)
    (tmp_path / "deploy.prototxt").write_text(text_format.MessageToString(deploy))

    x = np.random.default_rng(8).uniform(-1, 1, shape).astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(str(tmp_path / "deploy.prototxt"), str(weights))
    net.setInput(x)
    (output,) = conversion.graph.outputs
    expected = net.forward(output)
    pipeline.emit(conversion, formats=("onnx",))
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    (actual,) = session.run([output], {"data": x})
    assert_close(actual.reshape(expected.shape), expected, output)


@pytest.mark.parametrize("path", ["squeezenet_residual/trainval.prototxt",
                                  "deepscale_squeezenet_v1.0/train_val.prototxt",
                                  "deepscale_squeezenet_v1.1/train_val.prototxt",
                                  "deep_compression_squeezenet/SqueezeNet_trainval.prototxt"])
def test_opencv_backend_runs_a_train_val_net(tmp_path, path):
    """`verify --backend opencv` on a train_val: OpenCV ignores phases and cannot run data or loss
    layers, so it is handed the TEST-phase net (Input layers, then the kept layers)."""
    from converter.caffe.synthetic import write_synthetic_weights

    trainval = shared_path("reference_models", path)
    shape = {"data": (1, 3, 227, 227)}
    write_synthetic_weights(trainval, tmp_path / "w.caffemodel", seed=2, input_shapes=shape)
    conversion = pipeline.convert(trainval, tmp_path / "w.caffemodel", input_shapes=shape)
    report = pipeline.run_verification(conversion, backends=("opencv",))
    assert report.passed, report.first_failure
    assert [c.backend for c in report.comparisons if c.backend == "opencv"] == ["opencv"]


def test_opencv_backend_names_what_opencv_cannot_run(tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.errors import ConverterError

    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }\n'
                        'layer { name: "shift" type: "Bias" bottom: "data" top: "shift" }\n')
    write_synthetic_weights(prototxt, tmp_path / "w.caffemodel")
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel")
    with pytest.raises(ConverterError, match="OpenCV's Caffe importer cannot run this net: .*Bias"):
        pipeline.run_verification(conversion, backends=("opencv",))


@pytest.mark.parametrize("name", ["wild_res10_ssd_face", "wild_mobilenet_ssd"])
def test_wild_ssd_detectors_match_the_fork_and_opencv(name):
    """An SSD net from ../shared/wild with the fork's golden weights: every recorded Permute,
    PriorBox, Normalize and mbox blob and the detections agree with what the SSD fork's Caffe
    recorded, for ONNX Runtime and PyTorch. OpenCV's own SSD layers are an independent oracle for
    the detections: OpenCV pads the rows with zeros up to keep_top_k and orders them its own way;
    the opencv backend drops those and puts them in Caffe's order."""
    from converter.backends import opencv_backend
    from converter.caffe.layers import LAYER_TYPES
    from converter.verify import compare_scored_rows

    case = golden_case(name)
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    recorded = [key.split("|", 1)[1] for key in case["layer_blobs"]] + ["detection_out|detection_out"]
    kinds = {next(layer.type for layer in conversion.net.layers if layer.name == blob.split("|")[0])
             for blob in recorded}
    assert kinds >= {"Permute", "PriorBox", "Concat", "Flatten", "DetectionOutput"}
    assert ("Normalize" in kinds) is ("res10" in name)
    for blob in recorded:
        checked = {c.backend for c in report.comparisons if c.blob == blob and c.truth == "caffe" and c.ok}
        assert checked == {"reference", "onnxruntime", "pytorch"}, blob
    rows = case["detection_summary"]["rows"]
    detections = [c for c in report.comparisons if c.blob == "detection_out|detection_out"]
    assert {tuple(c.shape) for c in detections} == {(1, 1, rows, 7)}

    # OpenCV, through the opencv backend (its rows unpadded, in Caffe's order), on the same input.
    x = np.load(case["blobs_path"])["input|data"]
    theirs = opencv_backend(conversion.net)(conversion.graph, {"data": x})["detection_out"]
    expected = np.load(case["blobs_path"])["output|detection_out"]
    assert compare_scored_rows(theirs, expected, 1e-4, LAYER_TYPES["DetectionOutput"].scored_rows)[2]
