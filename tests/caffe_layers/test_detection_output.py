"""DetectionOutput (SSD fork): on the bottoms the fork's Caffe recorded for the two SSD nets it gives
the recorded detections; on synthetic problems it agrees with a box-by-box loop written in the tests
(emit_common.detection_loop) for every code type, per-class boxes, eta, keep_top_k and the
no-detection rows; the fork's refusals. RefineDet's 4- and 5-bottom form (objectness filter,
refined anchors) against emit_common.refinedet_loop, written from RefineDet's C++; OpenCV 4.14,
though it reads the layer, ignores the ARM bottoms (a test shows it), so it is no oracle there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from caffe_layers.helpers import assert_close, golden, make_layer
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer
from converter.errors import ConverterError, ModelError
from converter.ir import DetectionOutput
from emit_common import (
    DETECTION_CASES,
    REFINEDET_CASES,
    detection_case,
    detection_loop,
    refinedet_inputs,
    refinedet_loop,
)

DETECTION_OUTPUT = LAYER_TYPES["DetectionOutput"]


@pytest.mark.parametrize(("case", "count"), [("wild_res10_ssd_face", 160), ("wild_mobilenet_ssd", 41)])
def test_recorded_detections(case: str, count: int) -> None:
    _, blobs, params, _ = golden(case)
    param = params["detection_out"]
    layer = CaffeLayer(param.name, param.type, list(param.bottom), list(param.top), param)
    bottoms = [blobs[f"layer|{name}|{name}"] for name in ("mbox_loc", "mbox_conf_flatten", "mbox_priorbox")]
    assert DETECTION_OUTPUT.output_shapes(layer, [b.shape for b in bottoms]) == [(1, 1, 1, 7)]
    (actual,) = DETECTION_OUTPUT.forward(layer, bottoms)
    expected = blobs["output|detection_out"]
    assert expected.shape == (1, 1, count, 7)
    assert_close(actual, expected)


def _layer_text(attributes: dict, bottoms: tuple[str, ...] = ("loc", "conf", "prior")) -> str:
    nms = {"nms_threshold": attributes.get("nms_threshold", 0.3), "eta": attributes.get("eta", 1.0)}
    if attributes.get("top_k", -1) != -1:
        nms["top_k"] = attributes["top_k"]
    fields = {key: value for key, value in attributes.items() if key not in ("nms_threshold", "eta", "top_k")}
    if "code_type" in fields:
        fields["code_type"] = fields["code_type"].upper()
    text = " ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in fields.items())
    nms_text = " ".join(f"{k}: {v}" for k, v in nms.items())
    bottom_text = " ".join(f'bottom: "{b}"' for b in bottoms)
    return (f'name: "det" type: "DetectionOutput" {bottom_text} top: "out" '
            f"detection_output_param {{ {text} nms_param {{ {nms_text} }} }}")


@pytest.mark.parametrize("case", DETECTION_CASES.values(), ids=DETECTION_CASES.keys())
def test_matches_the_loop(case: tuple) -> None:
    attributes, n, p, c, seed = case
    layer = make_layer(_layer_text(attributes))
    share = attributes.get("share_location", True)
    loc, conf, prior = detection_case(n, p, c, seed, share_location=share)
    (actual,) = DETECTION_OUTPUT.forward(layer, [loc, conf, prior])
    expected = detection_loop(loc, conf, prior, DetectionOutput(name="d", inputs=["a", "b", "c"], outputs=["o"],
                                                                **attributes))
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("params", "shapes", "message"), [
    ("share_location: true", [(1, 8), (1, 6), (1, 2, 8)], "must specify num_classes"),
    ("num_classes: 3", [(1, 12), (1, 6), (1, 2, 8)], "location predictions"),
    ("num_classes: 3", [(1, 8), (1, 8), (1, 2, 8)], "confidence predictions"),
    ("num_classes: 3", [(1, 8), (2, 6), (1, 2, 8)], "batch sizes"),
    ("num_classes: 3 nms_param { eta: 1.5 }", [(1, 8), (1, 6), (1, 2, 8)], "eta"),
    ("num_classes: 3 nms_param { nms_threshold: -0.1 }", [(1, 8), (1, 6), (1, 2, 8)], "non negative"),
])
def test_refuses(params: str, shapes: list, message: str) -> None:
    layer = make_layer(f'name: "det" type: "DetectionOutput" bottom: "l" bottom: "c" bottom: "p" top: "o" '
                       f"detection_output_param {{ {params} }}")
    with pytest.raises(ModelError, match=f"det.*{message}"):
        DETECTION_OUTPUT.output_shapes(layer, shapes)


@pytest.mark.parametrize("case", REFINEDET_CASES.values(), ids=REFINEDET_CASES.keys())
def test_refinedet_matches_the_loop(case: tuple) -> None:
    node, inputs = refinedet_inputs(case)
    layer = make_layer(_layer_text(case[0], tuple(node.inputs)))
    assert DETECTION_OUTPUT.output_shapes(layer, [x.shape for x in inputs]) == [(1, 1, 1, 7)]
    (actual,) = DETECTION_OUTPUT.forward(layer, inputs)
    loc, conf, prior, arm_conf, *arm_loc = inputs
    expected = refinedet_loop(loc, conf, prior, arm_conf, arm_loc[0] if arm_loc else None, node)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    assert not np.array_equal(expected, detection_loop(loc, conf, prior, node))  # the ARM bottoms matter here


def test_refinedet_everything_filtered_gives_class_zero() -> None:
    # Every prior below objectness_score: all score [1, 0, 0]; with no threshold and the background
    # at label 2, class 0 keeps the non-overlapping refined boxes at score 1, class 1 keeps them at 0.
    case = REFINEDET_CASES["corner_size_no_threshold_background_2"]
    node, (loc, conf, prior, arm_conf, arm_loc) = refinedet_inputs(case)
    layer = make_layer(_layer_text(case[0], tuple(node.inputs)))
    (actual,) = DETECTION_OUTPUT.forward(layer, [loc, conf, prior, np.zeros_like(arm_conf), arm_loc])
    assert set(actual[0, 0, :, 1]) == {0, 1}
    assert set(actual[0, 0, actual[0, 0, :, 1] == 0, 2]) == {1} and set(actual[0, 0, actual[0, 0, :, 1] == 1, 2]) == {0}
    np.testing.assert_allclose(actual, refinedet_loop(loc, conf, prior, np.zeros_like(arm_conf), arm_loc, node),
                               rtol=1e-6, atol=1e-6)


def test_opencv_ignores_the_arm_bottoms() -> None:
    """OpenCV 4.14 reads a 5-bottom DetectionOutput and computes the SSD fork's result from the first
    three: it cannot vouch for RefineDet (the opencv backend refuses such nets)."""
    import cv2

    attributes = REFINEDET_CASES["center_size_keep_top_k"][0]
    node, inputs = refinedet_inputs(REFINEDET_CASES["center_size_keep_top_k"])
    sizes = [x.shape for x in inputs]
    text = "".join(f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ '
                   + " ".join(f"dim: {d}" for d in shape) + " } } }\n"
                   for name, shape in zip(node.inputs, sizes, strict=True))
    text += f"layer {{ {_layer_text(attributes, tuple(node.inputs))} }}\n"
    net = cv2.dnn.readNetFromCaffe(bytearray(text.encode()))
    for name, value in zip(node.inputs, inputs, strict=True):
        net.setInput(value, name)
    theirs = net.forward("det").reshape(-1, 7)
    theirs = theirs[theirs[:, 2] > 0]
    loc, conf, prior, arm_conf, arm_loc = inputs
    ssd = detection_loop(loc, conf, prior, node).reshape(-1, 7)
    refinedet = refinedet_loop(loc, conf, prior, arm_conf, arm_loc, node).reshape(-1, 7)

    def as_set(rows: np.ndarray) -> set:
        return {tuple(np.round(row, 4)) for row in rows}

    assert as_set(theirs) == as_set(ssd) != as_set(refinedet)


@pytest.mark.parametrize(("params", "shapes", "message"), [
    ("num_classes: 3 share_location: false", [(1, 24), (1, 6), (1, 2, 8), (1, 4), (1, 24)], "only with share_location"),
    ("num_classes: 3", [(1, 8), (1, 6), (1, 2, 8), (1, 6), (1, 8)], "arm_conf bottom must have shape \\(1, 4\\)"),
    ("num_classes: 3", [(1, 8), (1, 6), (1, 2, 8), (1, 4), (2, 8)], "arm_loc bottom must have shape \\(1, 8\\)"),
    ("num_classes: 3", [(1, 8), (1, 6), (1, 2, 8), (1, 4)], "set objectness_score"),
    ("num_classes: 3 objectness_score: 0.01", [(1, 8), (1, 6), (1, 2, 8), (1, 3, 8, 8)], "arm_conf bottom"),
])
def test_refinedet_refuses(params: str, shapes: list, message: str) -> None:
    bottoms = " ".join(f'bottom: "b{i}"' for i in range(len(shapes)))
    layer = make_layer(f'name: "det" type: "DetectionOutput" {bottoms} top: "o" detection_output_param {{ {params} }}')
    with pytest.raises(ModelError, match=f"det.*{message}"):
        DETECTION_OUTPUT.output_shapes(layer, shapes)


def test_ssd_fourth_bottom_is_ignored() -> None:
    # The SSD fork's fourth bottom is the image it draws on (visualize): the detections do not read it.
    attributes, n, p, c, seed = DETECTION_CASES["center_size_keep_top_k"]
    loc, conf, prior = detection_case(n, p, c, seed)
    layer = make_layer(_layer_text(attributes, ("loc", "conf", "prior", "data")))
    image = np.zeros((n, 3, 4, 4), np.float32)
    (actual,) = DETECTION_OUTPUT.forward(layer, [loc, conf, prior, image])
    expected = detection_loop(loc, conf, prior, DetectionOutput(name="d", inputs=["a", "b", "c"], outputs=["o"],
                                                                **attributes))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)  # the loop reads three bottoms only
    np.testing.assert_array_equal(actual, DETECTION_OUTPUT.forward(make_layer(_layer_text(attributes)),
                                                                   [loc, conf, prior])[0])


# A RefineDet-like head as RefineDet's deploy files build it (ARM and ODM branches: Permute, Flatten,
# Reshape + Softmax over each prior's scores, PriorBox), on 4x4 maps of a 16x16 image, fed as inputs.
MAPS = {"arm_loc": 4, "arm_conf": 2, "odm_loc": 4, "odm_conf": 3}  # channels of each 4x4 map


def _refinedet_net() -> str:
    lines = ['name: "refinedet_head"',
             'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 16 dim: 16 } } }']
    for name, k in MAPS.items():
        lines += [f'layer {{ name: "{name}" type: "Input" top: "{name}" '
                  f"input_param {{ shape {{ dim: 2 dim: {k} dim: 4 dim: 4 }} }} }}",
                  f'layer {{ name: "{name}_perm" type: "Permute" bottom: "{name}" top: "{name}_perm" '
                  "permute_param { order: 0 order: 2 order: 3 order: 1 } }",
                  f'layer {{ name: "{name}_flat" type: "Flatten" bottom: "{name}_perm" top: "{name}_flat" }}']
    for name in ("arm_conf", "odm_conf"):
        lines += [f'layer {{ name: "{name}_reshape" type: "Reshape" bottom: "{name}_flat" top: "{name}_reshape" '
                  f"reshape_param {{ shape {{ dim: 0 dim: -1 dim: {MAPS[name]} }} }} }}",
                  f'layer {{ name: "{name}_softmax" type: "Softmax" bottom: "{name}_reshape" '
                  f'top: "{name}_softmax" softmax_param {{ axis: 2 }} }}',
                  f'layer {{ name: "{name}_scores" type: "Flatten" bottom: "{name}_softmax" top: "{name}_scores" }}']
    lines += ['layer { name: "priorbox" type: "PriorBox" bottom: "odm_loc" bottom: "data" top: "priorbox" '
              "prior_box_param { min_size: 6 clip: false variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 "
              "step: 4 offset: 0.5 } }",
              'layer { name: "detection_out" type: "DetectionOutput" bottom: "odm_loc_flat" bottom: "odm_conf_scores" '
              'bottom: "priorbox" bottom: "arm_conf_scores" bottom: "arm_loc_flat" top: "detection_out" '
              "detection_output_param { num_classes: 3 background_label_id: 0 share_location: true "
              "nms_param { nms_threshold: 0.45 top_k: 10 } code_type: CENTER_SIZE keep_top_k: 12 "
              "confidence_threshold: 0.05 objectness_score: 0.3 } }"]
    return "\n".join(lines) + "\n"


def test_refinedet_net_converts_and_verifies(tmp_path) -> None:
    from converter import pipeline
    from converter.emit.torch import load_module

    prototxt = tmp_path / "deploy.prototxt"
    prototxt.write_text(_refinedet_net())
    rng = np.random.default_rng(5)
    maps = {name: rng.normal(0, 1.5, (2, k, 4, 4)).astype(np.float32) for name, k in MAPS.items()}
    conversion = pipeline.convert(prototxt)
    (node,) = [n for n in conversion.graph.nodes if isinstance(n, DetectionOutput)]
    assert len(node.inputs) == 5 and node.objectness_score == np.float32(0.3)
    pipeline.emit(conversion)
    feeds = {"data": np.zeros((2, 3, 16, 16), np.float32), **maps}
    report = pipeline.run_verification(conversion, inputs=feeds)
    assert report.passed, report.first_failure
    assert {c.backend for c in report.comparisons if c.blob == "detection_out|detection_out"} >= {"onnxruntime",
                                                                                                   "pytorch"}
    with pytest.raises(ConverterError, match="OpenCV 4.14 ignores RefineDet's .*'detection_out'"):
        pipeline.run_verification(conversion, inputs=feeds, backends=("opencv",))

    # The rows, against RefineDet's loop on the same inputs prepared by hand: permuted to
    # (prior, value), softmaxed per prior; priors of side 6/16 centred on the 4-pixel cells.
    def flat(name: str) -> np.ndarray:
        return maps[name].transpose(0, 2, 3, 1).reshape(2, -1)

    def softmax(x: np.ndarray, k: int) -> np.ndarray:
        e = np.exp(x.reshape(2, -1, k).astype(np.float64))
        return (e / e.sum(axis=2, keepdims=True)).astype(np.float32).reshape(2, -1)

    centres = [((w + 0.5) * 4 / 16, (h + 0.5) * 4 / 16) for h in range(4) for w in range(4)]
    corners = [[x - 3 / 16, y - 3 / 16, x + 3 / 16, y + 3 / 16] for x, y in centres]
    prior = np.array([corners, [[0.1, 0.1, 0.2, 0.2]] * 16], np.float32).reshape(1, 2, 64)
    expected = refinedet_loop(flat("odm_loc"), softmax(flat("odm_conf"), 3), prior, softmax(flat("arm_conf"), 2),
                              flat("arm_loc"), node)
    module = load_module(conversion.torch_export)
    with torch.no_grad():
        actual = module(*(torch.from_numpy(feeds[name]) for name in conversion.graph.inputs))
    assert expected.shape[2] > 2 and actual.shape == expected.shape
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5, atol=1e-5)
