"""Issue 13: older runtimes. Opsets 11 and 12 are written by lowering the opset-13 forms (Split sizes
and Squeeze axes as attributes, Softmax over one axis through Transpose when later dimensions are
not 1), refused naming the node where no exact form exists. Opsets 11 and 21 both reproduce real
Caffe's outputs (golden SqueezeNet v1.0/v1.1, MobileNet v2) and OpenCV's (GoogLeNet), running the
emitted opset."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import golden_case, shared_path
from converter import pipeline


def run(model: onnx.ModelProto, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(outputs, inputs)


def close(actual: np.ndarray, expected: np.ndarray) -> bool:
    return actual.shape == expected.shape and \
        float(np.abs(actual - expected).max()) <= 1e-4 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize("name", ["squeezenet_v1.0", "squeezenet_v1.1", "mobilenet_v2"])
def test_opsets_11_and_21_reproduce_caffe(name: str) -> None:
    from converter.emit.onnx import build_onnx

    case = golden_case(name)
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                  input_shapes={case["input_name"]: tuple(case["input_shape"])})
    blobs = np.load(case["blobs_path"])
    inputs = {case["input_name"]: blobs[f"input|{case['input_name']}"]}
    for opset in (11, 21):
        model = build_onnx(conversion.graph, opset=opset).to_proto()
        assert model.opset_import[0].version == opset
        onnx.checker.check_model(model, full_check=True)
        outputs = run(model, inputs, list(conversion.graph.outputs))
        for top, actual in zip(case["outputs"], outputs, strict=True):
            assert close(actual, blobs[f"output|{top}"]), (opset, top)


def test_opsets_11_and_21_reproduce_opencv_on_googlenet(tmp_path) -> None:
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.emit.onnx import build_onnx

    prototxt = shared_path("reference_models", "bvlc", "bvlc_googlenet", "deploy.prototxt")
    weights = tmp_path / "googlenet.caffemodel"
    shape = (1, 3, 224, 224)
    write_synthetic_weights(prototxt, weights, seed=4, input_shapes={"data": shape})
    conversion = pipeline.convert(prototxt, weights, input_shapes={"data": shape})
    x = np.random.default_rng(2).uniform(-50, 50, shape).astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
    net.setInput(x)
    logits_top = "loss3/classifier"
    expected = net.forward(logits_top)  # the logits: a softmax over near-uniform scores hides errors
    for opset in (11, 21):
        model = build_onnx(conversion.graph, opset=opset, extra_outputs=[logits_top]).to_proto()
        onnx.checker.check_model(model, full_check=True)
        (logits,) = run(model, {"data": x}, [logits_top])
        assert close(logits.reshape(expected.shape), expected), opset


def test_softmax_over_channels_of_a_4d_blob_at_opset_11() -> None:
    """Caffe's softmax normalises over the channel axis at each position; opset 11's Softmax would
    normalise over C x H x W together: the lowered form must not."""
    from converter.emit.onnx import emit_onnx
    from converter.ir import Softmax
    from emit_common import graph_of

    graph = graph_of(Softmax(name="prob", inputs=["x"], outputs=["y"], axis=1), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = emit_onnx(graph, opset=11)
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    (y,) = run(model, {"x": x}, ["y"])
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_an_operator_opset_11_cannot_express_is_refused_naming_the_node() -> None:
    from onnx import helper

    from converter.emit.onnx.downgrade import lower
    from converter.errors import ConverterError

    resize = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up2", mode="nearest")
    split = helper.make_node("Split", ["y", "sizes"], ["a", "b"], name="halves", axis=1)
    with pytest.raises(ConverterError, match=r"opset 11 cannot express.*'up2' \(Resize"):
        lower([resize, split], {"sizes": np.array([1, 1], np.int64)}, {}, {}, 11)
    (lowered,) = lower([split], {"sizes": np.array([1, 1], np.int64)}, {}, {}, 11)
    assert list(lowered.input) == ["y"]
    assert {a.name: helper.get_attribute_value(a) for a in lowered.attribute} == {"axis": 1, "split": [1, 1]}
