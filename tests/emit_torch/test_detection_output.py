"""DetectionOutput against emit_common.detection_loop, a box-by-box loop written from the IR
docstring: every code type, shared and per-class boxes, adaptive eta, keep_top_k, no detection,
equal scores and infinite boxes. The module uses torch ops only (no torchvision)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from converter.ir import DetectionOutput
from emit_common import DETECTION_CASES, EDGE_DETECTION_CASES, assert_detections, detection_inputs
from emit_torch.helpers import Emitted, emit, graph_of


def emit_and_run(node: DetectionOutput, loc: np.ndarray, conf: np.ndarray, prior: np.ndarray
                 ) -> tuple[Emitted, np.ndarray]:
    graph = graph_of(node, {"loc": loc.shape, "conf": conf.shape, "prior": prior.shape, "det": (1, 1, 1, 7)},
                     inputs=["loc", "conf", "prior"])
    emitted = emit(graph)
    with torch.no_grad():
        out = emitted.module(*(torch.from_numpy(v) for v in (loc, conf, prior)))
    return emitted, out.numpy()


@pytest.mark.parametrize("case", DETECTION_CASES.values(), ids=DETECTION_CASES.keys())
def test_matches_the_loop(case: tuple) -> None:
    node, loc, conf, prior = detection_inputs(case)
    emitted, actual = emit_and_run(node, loc, conf, prior)
    assert_detections(actual, node, loc, conf, prior)
    assert emitted.kinds() == ["DetectionOutput"] and "torchvision" not in emitted.export.source


@pytest.mark.parametrize("make", EDGE_DETECTION_CASES.values(), ids=EDGE_DETECTION_CASES.keys())
def test_edge_cases(make) -> None:
    node, loc, conf, prior = make()
    _, actual = emit_and_run(node, loc, conf, prior)
    assert_detections(actual, node, loc, conf, prior)


def test_no_detection_rows() -> None:
    node, loc, conf, prior = detection_inputs(DETECTION_CASES["nothing_above_threshold"])
    _, actual = emit_and_run(node, loc, conf, prior)
    np.testing.assert_array_equal(actual, [[[[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]]])
