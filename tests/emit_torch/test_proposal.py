"""The shipped py-faster-rcnn plugin's Proposal op as torch ops (no torchvision) against
py-faster-rcnn's ProposalLayer written out (emit_common.proposal_loop)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.bundled_plugins.py_faster_rcnn import Proposal, base_anchors, shifted_anchors
from emit_common import graph_of, proposal_inputs, proposal_loop
from emit_torch.helpers import emit, run


@pytest.mark.parametrize(("hw", "im_info", "pre", "post"), [
    ((5, 6), (80, 96, 1.0), 6000, 300), ((7, 4), (100, 60, 0.6), 6000, 300), ((5, 6), (80, 96, 1.0), 25, 4),
    ((3, 3), (40, 40, 3.0), 6000, 300),
])
def test_matches_the_python_layer(hw, im_info, pre: int, post: int) -> None:
    node = Proposal(name="proposal", inputs=["cls", "bbox", "im_info"], outputs=["rois"],
                    anchors=shifted_anchors(base_anchors(), *hw, 16), pre_nms_top_n=pre, post_nms_top_n=post)
    graph = graph_of(node, {"cls": (1, 18, *hw), "bbox": (1, 36, *hw), "im_info": (1, 3), "rois": (post, 5)})
    emitted = emit(graph)
    assert emitted.kinds() == ["Proposals"] and "torchvision" not in emitted.export.source
    scores, deltas = proposal_inputs(*hw, seed=hw[0])
    info = np.array([im_info], np.float32)
    rois = run(emitted, graph, {"cls": scores, "bbox": deltas, "im_info": info})["rois"]
    expected = proposal_loop(scores, deltas, info, pre_nms_top_n=pre, post_nms_top_n=post)
    assert rois.shape == expected.shape and rois.dtype == np.float32
    np.testing.assert_allclose(rois, expected, rtol=1e-6, atol=1e-4)
