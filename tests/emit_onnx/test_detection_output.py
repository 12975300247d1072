"""DetectionOutput against emit_common.detection_loop, a box-by-box loop written from the IR
docstring: every code type, shared and per-class boxes, adaptive eta, keep_top_k, no detection,
equal scores, boxes with xmax < xmin and infinite boxes; the row count is known only at run time.
RefineDet's ARM inputs against emit_common.refinedet_loop (from RefineDet's C++)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from converter.emit.onnx import emit_onnx
from converter.ir import DetectionOutput
from emit_common import (
    DETECTION_CASES,
    EDGE_DETECTION_CASES,
    REFINEDET_CASES,
    assert_detections,
    assert_refinedet_detections,
    detection_inputs,
    graph_of,
    refinedet_graph,
    refinedet_inputs,
)
from emit_onnx.helpers import run


def emit_and_run(node: DetectionOutput, loc: np.ndarray, conf: np.ndarray, prior: np.ndarray,
                 opset: int = 17) -> tuple[onnx.ModelProto, np.ndarray]:
    graph = graph_of(node, {"loc": loc.shape, "conf": conf.shape, "prior": prior.shape, "det": (1, 1, 1, 7)},
                     inputs=["loc", "conf", "prior"])
    model = emit_onnx(graph, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    return model, run(model, {"loc": loc, "conf": conf, "prior": prior})["det"]


@pytest.mark.parametrize("case", DETECTION_CASES.values(), ids=DETECTION_CASES.keys())
def test_matches_the_loop(case: tuple) -> None:
    node, loc, conf, prior = detection_inputs(case)
    model, actual = emit_and_run(node, loc, conf, prior)
    assert_detections(actual, node, loc, conf, prior)
    assert "NonMaxSuppression" not in {n.op_type for n in model.graph.node}


@pytest.mark.parametrize("make", EDGE_DETECTION_CASES.values(), ids=EDGE_DETECTION_CASES.keys())
def test_edge_cases(make) -> None:
    node, loc, conf, prior = make()
    _, actual = emit_and_run(node, loc, conf, prior)
    assert_detections(actual, node, loc, conf, prior)


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_opsets_with_adaptive_eta(opset: int) -> None:
    attributes, *rest = DETECTION_CASES["center_size_keep_top_k"]
    node, loc, conf, prior = detection_inputs(({**attributes, "eta": 0.9, "nms_threshold": 0.8}, *rest))
    _, actual = emit_and_run(node, loc, conf, prior, opset)
    assert_detections(actual, node, loc, conf, prior)


def test_output_dims_and_no_detection_rows() -> None:
    node, loc, conf, prior = detection_inputs(DETECTION_CASES["nothing_above_threshold"])
    model, actual = emit_and_run(node, loc, conf, prior)
    dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, "detections", 7]
    np.testing.assert_array_equal(actual, [[[[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]]])


@pytest.mark.parametrize("external", [False, True])
def test_saved_model_runs(tmp_path, external: bool) -> None:
    # The model as `save` streams it (its boolean and 0-axis initializers too) runs the same, also with
    # its weights as external data (big nets: verification runs them so), which ONNX Runtime loads
    # from the file itself.
    import onnxruntime as ort

    from converter.emit.onnx import build_onnx

    node, loc, conf, prior = detection_inputs(DETECTION_CASES["center_size_keep_top_k"])
    graph = graph_of(node, {"loc": loc.shape, "conf": conf.shape, "prior": prior.shape, "det": (1, 1, 1, 7)},
                     inputs=["loc", "conf", "prior"])
    build_onnx(graph).save(tmp_path / "det.onnx", external_threshold=0 if external else None)
    assert (tmp_path / "det.onnx.data").exists() is external
    session = ort.InferenceSession(str(tmp_path / "det.onnx"), providers=["CPUExecutionProvider"])
    (actual,) = session.run(["det"], {"loc": loc, "conf": conf, "prior": prior})
    assert_detections(actual, node, loc, conf, prior)


@pytest.mark.parametrize("case", REFINEDET_CASES.values(), ids=REFINEDET_CASES.keys())
def test_refinedet_matches_the_loop(case: tuple) -> None:
    node, inputs = refinedet_inputs(case)
    model = emit_onnx(refinedet_graph(node, inputs), opset=17)
    onnx.checker.check_model(model, full_check=True)
    assert_refinedet_detections(run(model, dict(zip(node.inputs, inputs, strict=True)))["det"], node, inputs)
