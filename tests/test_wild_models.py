"""Public fork models from ../shared/wild end to end: each converts, and where OpenCV 4.14's importer
runs it, the ONNX model agrees with OpenCV on the net output and on the blob before a final Softmax
(synthetic weights saturate softmax outputs, which would hide errors). SRCNN also verifies against
the blobs BVLC Caffe recorded. Layers OpenCV does not run (YOLO's Upsample) are tested against loops
written from the fork's C++ in tests/caffe_layers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from google.protobuf import text_format

from conftest import WILD_MODELS, golden_case, shared_path
from converter import pipeline
from converter.backends import _test_phase_definition
from converter.caffe import caffe_pb2

# Models OpenCV runs, with the blobs compared (the output and, for classifiers, the logits).
# FCN-8s (540 MB of weights) is checked the same way by hand (README), not here: a minute of test
# time. ResNet-152 is checked whole in tests/test_make_weights.py. SE-ResNet-50 is compared through
# its first two stages (seven SE blocks' Axpy, at 64x64): synthetic weights grow its logits past 1e3,
# where float32 accumulation order alone moves them by more than the tolerance. DenseNet-121 through
# its first dense block and transition: pool1's ceil_mode: false makes 8x8 of 16x16 there (ceil
# would make 9x9).
OPENCV_BLOBS = {
    "shufflenet_v2": ["fc1000"],
    "se_resnet50": ["conv3_4"],
    "densenet121": ["pool2"],
}
CUT_AFTER = {"se_resnet50": ("conv3_4/relu", (1, 3, 64, 64)), "densenet121": ("pool2", (1, 3, 32, 32))}


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, what
    err = float(np.abs(actual.astype(np.float64) - expected).max())
    assert err <= 1e-4 * max(1.0, float(np.abs(expected).max())), f"{what}: {err:.3g}"


def _converted(name: str, folder: Path) -> tuple:
    """(prototxt, weights, conversion) of a wild model at its sweep shape, or of its first layers
    (CUT_AFTER) written to `folder`, with synthetic weights."""
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = shared_path("wild", name, "deploy.prototxt")
    shape = WILD_MODELS[name]
    if name in CUT_AFTER:
        last, shape = CUT_AFTER[name]
        net = text_format.Parse(prototxt.read_text(), caffe_pb2.NetParameter())
        del net.layer[[layer.name for layer in net.layer].index(last) + 1 :]
        prototxt = folder / f"{name}_first_layers.prototxt"
        prototxt.write_text(text_format.MessageToString(net))
    weights = folder / f"{name}.caffemodel"
    write_synthetic_weights(prototxt, weights, seed=3, input_shapes={"data": shape})
    return prototxt, weights, pipeline.convert(prototxt, weights, input_shapes={"data": shape})


@pytest.mark.parametrize("name", sorted(OPENCV_BLOBS))
def test_onnx_agrees_with_opencv(name: str, tmp_path) -> None:
    import onnxruntime as ort

    from converter.emit.onnx import emit_onnx

    prototxt, weights, conversion = _converted(name, tmp_path)
    blobs = OPENCV_BLOBS[name]
    x = np.random.default_rng(5).uniform(-1, 1, conversion.net.inputs["data"]).astype(np.float32)
    # The definition `verify --backend opencv` hands OpenCV (Axpy's bottoms swapped for its bug).
    with _test_phase_definition(conversion.net, for_opencv=True) as definition:
        net = cv2.dnn.readNetFromCaffe(str(definition), str(weights))
    net.enableWinograd(False)  # as the backend does: Winograd convolutions lose precision
    net.setInput(x)
    # A cut net's last layer output by position: OpenCV names Axpy's inner Scale after the Axpy's top.
    outputs = [net.forward()] if name in CUT_AFTER else net.forward(blobs)
    expected = dict(zip(blobs, outputs, strict=True))
    model = emit_onnx(conversion.graph, extra_outputs=[b for b in blobs if b not in conversion.graph.outputs])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for blob, actual in zip(blobs, session.run(blobs, {"data": x}), strict=True):
        assert_close(actual.reshape(expected[blob].shape), expected[blob], f"{name} {blob}")


def test_yolov3_tiny_verifies(tmp_path) -> None:
    """YOLO's Upsample and its stride-1 maxpool (the YOLO ports' pooling rounding), which OpenCV does
    not run: ONNX Runtime against the reference executor, every blob (the layers themselves are
    tested against loops from the fork's C++, the PyTorch module in tests/emit)."""
    _, _, conversion = _converted("yolov3_tiny", tmp_path)
    report = pipeline.run_verification(conversion, backends=("onnxruntime",))
    assert report.passed, report.first_failure
    # Every blob but the ones BatchNorm/Scale folding merged into a convolution (the report names those).
    assert conversion.graph.folded and any("--no-fold" in note for note in report.notes)
    assert [c.backend for c in report.comparisons] == ["onnxruntime"] * (55 - len(conversion.graph.folded))
    pool = next(layer for layer in conversion.net.layers if layer.name == "layer12-maxpool")
    assert pool.bottom_shapes[0][2:] == pool.top_shapes[0][2:] == (1, 1)  # the YOLO ports' extra window


def test_srcnn_matches_caffe_and_opencv() -> None:
    """SRCNN keeps a EuclideanLoss and its `label` input: the loss is dropped, the unread label stays
    an input. Verified against the blobs BVLC Caffe recorded, and by OpenCV (which refuses a net input
    nothing reads, so the backend leaves it out)."""
    case = golden_case("wild_srcnn")
    shapes = {name: tuple(shape) for name, shape in case["input_shapes"].items()}
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes=shapes)
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    assert any(c.blob == "conv3|conv3" and c.truth == "caffe" for c in report.comparisons)
    report = pipeline.run_verification(conversion, backends=("opencv",))
    assert report.passed, report.first_failure
    assert [c.blob for c in report.comparisons if c.backend == "opencv"] == ["conv3|conv3"]


# Models OpenCV 4.14 does not run: every blob of the reference executor against ONNX Runtime and
# PyTorch, at the sweep shape. ENet: BN and Upsample by mask. Faster R-CNN ZF: ROIPooling, Dropout
# scale_train: false and py-faster-rcnn's Python proposal layer (the shipped plugin, loaded through
# its entry point), on a 96x96 image at scale 1; its two 4096-wide FC layers are narrowed to 64 here
# (230 MB of demo weights otherwise), every layer type and connection staying the wild file's. The
# fork layers themselves are tested against their forks' sources in tests/caffe_layers.
# name -> (fork layer types, prototxt edit (old, new) or None, input values besides random data)
VERIFIED = {
    "enet_cityscapes": (("BN", "Upsample"), None, {}),
    "faster_rcnn_zf": (("ROIPooling", "Dropout", "rpn.proposal_layer.ProposalLayer"),
                       ("num_output: 4096", "num_output: 64"), {"im_info": np.array([[96, 96, 1]], np.float32)}),
}


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_verifies_in_both_exports(name: str, tmp_path) -> None:
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.verify import default_inputs

    fork_types, edit, values = VERIFIED[name]
    prototxt = shared_path("wild", name, "deploy.prototxt")
    if edit is not None:
        edited = tmp_path / "deploy.prototxt"
        edited.write_text(prototxt.read_text().replace(*edit))
        prototxt = edited
    shapes = {"data": WILD_MODELS[name]}
    write_synthetic_weights(prototxt, tmp_path / "w.caffemodel", seed=3, input_shapes=shapes)
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel", input_shapes=shapes)
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion, inputs=default_inputs(conversion.net) | values)
    assert report.passed, report.first_failure
    assert {c.backend for c in report.comparisons} == {"onnxruntime", "pytorch"}
    assert all(0 not in c.shape for c in report.comparisons)  # some proposals survive
    compared = {c.blob.split("|")[0] for c in report.comparisons}
    fork_layers = {layer.name for layer in conversion.net.layers if layer.type in fork_types}
    assert len(fork_layers) >= len(fork_types) and fork_layers <= compared
    if name == "faster_rcnn_zf":
        # A 40x40 image at scale 3: every box is under 16 * 3 pixels, no proposal survives, and every
        # blob after them has 0 rows, in Caffe's semantics and in both exports.
        none_survive = default_inputs(conversion.net) | {"im_info": np.array([[40, 40, 3]], np.float32)}
        report = pipeline.run_verification(conversion, inputs=none_survive)
        assert report.passed, report.first_failure
        assert {tuple(c.shape) for c in report.comparisons if c.blob.startswith("cls_prob|")} == {(0, 21)}
