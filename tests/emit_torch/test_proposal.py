"""The shipped py-faster-rcnn plugin's Proposal op as torch ops (no torchvision) against
py-faster-rcnn's ProposalLayer written out (emit_common.proposal_loop)."""

from __future__ import annotations

import numpy as np
import pytest

from emit_common import proposal_graph, proposal_inputs, proposal_loop
from emit_torch.helpers import emit, run


@pytest.mark.parametrize(("hw", "im_info", "pre", "post"), [
    ((5, 6), (80, 96, 1.0), 6000, 300), ((7, 4), (100, 60, 0.6), 6000, 300), ((5, 6), (80, 96, 1.0), 25, 4),
    ((3, 3), (40, 40, 3.0), 6000, 300),
])
def test_matches_the_python_layer(hw, im_info, pre: int, post: int) -> None:
    graph = proposal_graph(hw, pre, post)
    emitted = emit(graph)
    assert emitted.kinds() == ["Proposals"] and "torchvision" not in emitted.export.source
    scores, deltas = proposal_inputs(*hw, seed=hw[0])
    info = np.array([im_info], np.float32)
    rois = run(emitted, graph, {"cls": scores, "bbox": deltas, "im_info": info})["rois"]
    expected, _ = proposal_loop(scores, deltas, info, pre_nms_top_n=pre, post_nms_top_n=post)
    assert rois.shape == expected.shape and rois.dtype == np.float32
    np.testing.assert_allclose(rois, expected, rtol=1e-6, atol=1e-4)


def test_second_output_is_the_kept_scores() -> None:
    graph = proposal_graph((5, 6), with_scores=True)
    scores, deltas = proposal_inputs(5, 6, seed=7)
    info = np.array([[80, 96, 1]], np.float32)
    got = run(emit(graph), graph, {"cls": scores, "bbox": deltas, "im_info": info})
    expected_rois, expected_scores = proposal_loop(scores, deltas, info)
    np.testing.assert_allclose(got["rois"], expected_rois, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(got["scores"], expected_scores)
