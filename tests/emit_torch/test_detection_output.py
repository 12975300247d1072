"""DetectionOutput against emit_common.detection_loop, a box-by-box loop written from the IR
docstring: every code type, shared and per-class boxes, adaptive eta, keep_top_k, no detection,
equal scores and infinite boxes. The module uses torch ops only (no torchvision). RefineDet's ARM
inputs against emit_common.refinedet_loop (from RefineDet's C++). The module scripts (torch.jit.script)
and exports (torch.export) with the same rows; the scripted module of the SSD face detector gives the
SSD fork's recorded detections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import golden_case
from converter import pipeline
from converter.caffe.layers import LAYER_TYPES
from converter.emit.torch import emit_torch
from converter.ir import DetectionOutput
from converter.verify import compare_scored_rows
from emit_common import (
    DETECTION_CASES,
    EDGE_DETECTION_CASES,
    REFINEDET_CASES,
    assert_detections,
    assert_refinedet_detections,
    detection_inputs,
    refinedet_graph,
    refinedet_inputs,
    refinedet_loop,
)
from emit_torch.helpers import Emitted, emit, graph_of, import_generated


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


@pytest.mark.parametrize("case", REFINEDET_CASES.values(), ids=REFINEDET_CASES.keys())
def test_refinedet_matches_the_loop(case: tuple) -> None:
    node, inputs = refinedet_inputs(case)
    emitted = emit(refinedet_graph(node, inputs))
    with torch.no_grad():
        actual = emitted.module(*(torch.from_numpy(v) for v in inputs)).numpy()
    assert_refinedet_detections(actual, node, inputs)


pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _generated_head(node: DetectionOutput, inputs: list[np.ndarray], folder) -> torch.nn.Module:
    return import_generated(emit_torch(refinedet_graph(node, inputs)), folder, "refinedet_head")


def test_scripts_with_the_same_rows(tmp_path) -> None:
    # The RefineDet form runs every branch of the helper.
    node, inputs = refinedet_inputs(REFINEDET_CASES["center_size_keep_top_k"])
    scripted = torch.jit.script(_generated_head(node, inputs, tmp_path))
    with torch.no_grad():
        assert_refinedet_detections(scripted(*(torch.from_numpy(v) for v in inputs)).numpy(), node, inputs)


def test_exports_at_a_dynamic_batch(tmp_path) -> None:
    # The suppression becomes a while_loop (its trip count depends on the data).
    node, inputs = refinedet_inputs(REFINEDET_CASES["center_size_keep_top_k"])
    module = _generated_head(node, inputs, tmp_path)
    batch = torch.export.Dim("batch", min=1, max=16)
    dynamic = tuple(None if name == "prior" else {0: batch} for name in node.inputs)
    program = torch.export.export(module, tuple(torch.from_numpy(v) for v in inputs), dynamic_shapes=dynamic)
    assert any("while_loop" in str(n.target) for n in program.graph.nodes)
    second = [v if name == "prior" else v[1:] for name, v in zip(node.inputs, inputs, strict=True)]  # another batch
    for feeds in (inputs, second):
        loc, conf, prior, arm_conf, arm_loc = feeds
        actual = program.module()(*(torch.from_numpy(v) for v in feeds)).numpy()
        expected = refinedet_loop(loc, conf, prior, arm_conf, arm_loc, node)
        assert actual.shape == expected.shape and expected[0, 0, 0, 1] != -1
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def scripted_face_detector(tmp_path_factory) -> tuple[torch.jit.ScriptModule, dict]:
    case = golden_case("wild_res10_ssd_face")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    pipeline.emit(conversion, formats=("pytorch",))
    module = import_generated(conversion.torch_export, tmp_path_factory.mktemp("res10"), "res10_ssd_face")
    return torch.jit.script(module), case


def test_scripted_ssd_net_gives_the_forks_detections(scripted_face_detector) -> None:
    scripted, case = scripted_face_detector
    blobs = np.load(case["blobs_path"])
    with torch.no_grad():
        actual = scripted(torch.from_numpy(blobs["input|data"])).numpy()
    expected = blobs["output|detection_out"]
    assert expected.shape == (1, 1, 160, 7) and actual.shape == expected.shape
    assert compare_scored_rows(actual, expected, 1e-4, LAYER_TYPES["DetectionOutput"].scored_rows)[2]
