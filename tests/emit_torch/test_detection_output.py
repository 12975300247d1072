"""DetectionOutput against emit_common.detection_loop, a box-by-box loop written from the IR
docstring: every code type, shared and per-class boxes, adaptive eta, keep_top_k, no detection,
equal scores and infinite boxes. The module uses torch ops only (no torchvision)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from converter.ir import DetectionOutput
from emit_common import DETECTION_CASES, detection_case, detection_loop
from emit_torch.helpers import Emitted, emit, graph_of


def emit_and_run(node: DetectionOutput, loc: np.ndarray, conf: np.ndarray, prior: np.ndarray
                 ) -> tuple[Emitted, np.ndarray]:
    graph = graph_of(node, {"loc": loc.shape, "conf": conf.shape, "prior": prior.shape, "det": (1, 1, 1, 7)},
                     inputs=["loc", "conf", "prior"])
    emitted = emit(graph)
    with torch.no_grad():
        out = emitted.module(*(torch.from_numpy(v) for v in (loc, conf, prior)))
    assert out.dtype == torch.float32
    return emitted, out.numpy()


def node_of(attributes: dict) -> DetectionOutput:
    return DetectionOutput(name="detection_out", inputs=["loc", "conf", "prior"], outputs=["det"], **attributes)


@pytest.mark.parametrize("case", DETECTION_CASES.values(), ids=DETECTION_CASES.keys())
def test_matches_the_loop(case: tuple) -> None:
    attributes, n, p, c, seed = case
    node = node_of(attributes)
    loc, conf, prior = detection_case(n, p, c, seed, share_location=node.share_location)
    emitted, actual = emit_and_run(node, loc, conf, prior)
    expected = detection_loop(loc, conf, prior, node)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    assert emitted.kinds() == ["DetectionOutput"]
    assert "torchvision" not in emitted.export.source


def test_equal_scores_keep_prior_order_and_lower_class_at_the_cut() -> None:
    centres = [0.1, 0.3, 0.5, 0.7]
    corners = [[x, x, x + 0.1, x + 0.1] for x in centres]
    prior = np.array([corners, [[0.1, 0.1, 0.2, 0.2]] * 4], np.float32).reshape(1, 2, 16)
    loc = np.zeros((1, 16), np.float32)
    conf = np.tile(np.float32([0.4, 0.3, 0.3]), 4).reshape(1, 12)
    node = node_of(dict(num_classes=3, code_type="center_size", nms_threshold=0.45, keep_top_k=5))
    _, actual = emit_and_run(node, loc, conf, prior)
    np.testing.assert_allclose(actual, detection_loop(loc, conf, prior, node), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(actual[0, 0, :, 1], [1, 1, 1, 1, 2])
    np.testing.assert_allclose(actual[0, 0, :, 3], [0.1, 0.3, 0.5, 0.7, 0.1], rtol=1e-6)


def test_infinite_boxes_suppress_each_other() -> None:
    attributes, n, p, c, seed = DETECTION_CASES["center_size_keep_top_k"]
    loc, conf, prior = detection_case(1, p, c, seed)
    loc.reshape(p, 4)[::3, 2:] = 1e4
    node = node_of({**attributes, "keep_top_k": -1, "top_k": -1})
    _, actual = emit_and_run(node, loc, conf, prior)
    expected = detection_loop(loc, conf, prior, node)
    assert np.isinf(expected).any()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_no_detection_rows() -> None:
    attributes, n, p, c, seed = DETECTION_CASES["nothing_above_threshold"]
    loc, conf, prior = detection_case(n, p, c, seed)
    _, actual = emit_and_run(node_of(attributes), loc, conf, prior)
    np.testing.assert_array_equal(actual, [[[[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]]])
