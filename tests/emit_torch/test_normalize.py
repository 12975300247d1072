"""Normalize against emit_common.normalize_loop, written from the IR docstring (float64 sums): across
space or per position, one shared scale or one per channel, 2-D to 4-D inputs."""

from __future__ import annotations

import pytest

from converter.ir import Normalize
from emit_common import NORMALIZE_CASES, normalize_loop
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("case", NORMALIZE_CASES.values(), ids=NORMALIZE_CASES.keys())
def test_normalize(case: tuple) -> None:
    shape, scale, across, eps = case
    node = Normalize(name="norm", inputs=["x"], outputs=["y"], scale=scale, across_spatial=across, eps=eps)
    emitted = check(graph_of(node, {"x": shape, "y": shape}), lambda x: normalize_loop(x, scale, across, eps),
                    rtol=1e-5)
    assert emitted.kinds() == ["L2Normalize"] and emitted.shapes() == {"layers.norm.scale": scale.shape}
