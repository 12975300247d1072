"""DetectionOutput against emit_common.detection_loop, a box-by-box loop written from the IR
docstring: every code type, shared and per-class boxes, adaptive eta, keep_top_k, no detection,
equal scores, boxes with xmax < xmin and infinite boxes; the row count is known only at run time."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from converter.emit.onnx import emit_onnx
from converter.ir import DetectionOutput
from emit_common import DETECTION_CASES, detection_case, detection_loop, graph_of
from emit_onnx.helpers import run


def emit_and_run(node: DetectionOutput, loc: np.ndarray, conf: np.ndarray, prior: np.ndarray,
                 opset: int = 17) -> tuple[onnx.ModelProto, np.ndarray]:
    graph = graph_of(node, {"loc": loc.shape, "conf": conf.shape, "prior": prior.shape, "det": (1, 1, 1, 7)},
                     inputs=["loc", "conf", "prior"])
    model = emit_onnx(graph, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    return model, run(model, {"loc": loc, "conf": conf, "prior": prior})["det"]


def node_of(attributes: dict) -> DetectionOutput:
    return DetectionOutput(name="detection_out", inputs=["loc", "conf", "prior"], outputs=["det"], **attributes)


@pytest.mark.parametrize("case", DETECTION_CASES.values(), ids=DETECTION_CASES.keys())
def test_matches_the_loop(case: tuple) -> None:
    attributes, n, p, c, seed = case
    node = node_of(attributes)
    loc, conf, prior = detection_case(n, p, c, seed, share_location=node.share_location)
    _, actual = emit_and_run(node, loc, conf, prior)
    expected = detection_loop(loc, conf, prior, node)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_opsets(opset: int) -> None:
    attributes, n, p, c, seed = DETECTION_CASES["center_size_keep_top_k"]
    node = node_of({**attributes, "eta": 0.9, "nms_threshold": 0.8})
    loc, conf, prior = detection_case(n, p, c, seed)
    _, actual = emit_and_run(node, loc, conf, prior, opset)
    np.testing.assert_allclose(actual, detection_loop(loc, conf, prior, node), rtol=1e-6, atol=1e-6)


def test_equal_scores_keep_prior_order_and_lower_class_at_the_cut() -> None:
    # Four far-apart priors, two classes (0 background): class 1 and class 2 score every prior 0.3;
    # keep_top_k 5 of the 8 ties keeps class 1's four (lower class first), then class 2's prior 0.
    centres = [0.1, 0.3, 0.5, 0.7]
    corners = [[x, x, x + 0.1, x + 0.1] for x in centres]
    prior = np.array([corners, [[0.1, 0.1, 0.2, 0.2]] * 4], np.float32).reshape(1, 2, 16)
    loc = np.zeros((1, 16), np.float32)
    conf = np.tile(np.float32([0.4, 0.3, 0.3]), 4).reshape(1, 12)
    node = node_of(dict(num_classes=3, code_type="center_size", nms_threshold=0.45, keep_top_k=5))
    _, actual = emit_and_run(node, loc, conf, prior)
    expected = detection_loop(loc, conf, prior, node)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(actual[0, 0, :, 1], [1, 1, 1, 1, 2])
    np.testing.assert_allclose(actual[0, 0, :, 3], [0.1, 0.3, 0.5, 0.7, 0.1], rtol=1e-6)


def test_infinite_boxes_suppress_each_other() -> None:
    # exp overflows: boxes (-inf, -inf, inf, inf); their overlap is inf / nan = nan, and a nan
    # overlap is not <= the threshold, so only the first of them is kept (a finite box stays).
    attributes, n, p, c, seed = DETECTION_CASES["center_size_keep_top_k"]
    loc, conf, prior = detection_case(1, p, c, seed)
    loc.reshape(p, 4)[::3, 2:] = 1e4
    node = node_of({**attributes, "keep_top_k": -1, "top_k": -1})
    _, actual = emit_and_run(node, loc, conf, prior)
    expected = detection_loop(loc, conf, prior, node)
    assert np.isinf(expected).any()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_output_dims_and_no_detection_rows() -> None:
    attributes, n, p, c, seed = DETECTION_CASES["nothing_above_threshold"]
    node = node_of(attributes)
    loc, conf, prior = detection_case(n, p, c, seed)
    model, actual = emit_and_run(node, loc, conf, prior)
    dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, "detections", 7]
    np.testing.assert_array_equal(actual, [[[[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]]])
    assert "NonMaxSuppression" not in {n.op_type for n in model.graph.node}
