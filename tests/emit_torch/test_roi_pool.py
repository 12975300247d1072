"""RoiPool against the IR docstring written out as loops (emit_common.roi_pool_loop): rounding of
half-way corners, empty bins, rois outside the image, negative maxima."""

from __future__ import annotations

import numpy as np
import pytest

from emit_common import ROIS, roi_pool_graph, roi_pool_loop
from emit_torch.helpers import check


@pytest.mark.parametrize(("pooled", "scale"), [((3, 2), 0.5), ((2, 4), 0.25)])
def test_matches_loop(pooled, scale) -> None:
    emitted = check(roi_pool_graph(pooled, scale), lambda x, rois: roi_pool_loop(x, rois, pooled, scale),
                    batches=(2,), inputs={"rois": lambda shape, seed: ROIS, "x": lambda shape, seed: np.random
                                          .default_rng(seed).uniform(-5, -1, shape).astype(np.float32)},
                    rtol=0, atol=0)
    assert emitted.kinds() == ["RoiMaxPool"]
