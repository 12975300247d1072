"""DetectionOutput (SSD fork): on the bottoms the fork's Caffe recorded for the two SSD nets it gives
the recorded detections; on synthetic problems it agrees with a box-by-box loop written in the tests
(emit_common.detection_loop) for every code type, per-class boxes, eta, keep_top_k and the
no-detection rows; the fork's refusals."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, golden, make_layer
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import DetectionOutput
from emit_common import DETECTION_CASES, detection_case, detection_loop

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


def _layer_text(attributes: dict) -> str:
    nms = {"nms_threshold": attributes.get("nms_threshold", 0.3), "eta": attributes.get("eta", 1.0)}
    if attributes.get("top_k", -1) != -1:
        nms["top_k"] = attributes["top_k"]
    fields = {key: value for key, value in attributes.items() if key not in ("nms_threshold", "eta", "top_k")}
    if "code_type" in fields:
        fields["code_type"] = fields["code_type"].upper()
    text = " ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in fields.items())
    nms_text = " ".join(f"{k}: {v}" for k, v in nms.items())
    return (f'name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "out" '
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
