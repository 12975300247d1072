"""BilinearInterp against the IR's cell-by-cell loop (corner-aligned, float32 positions)."""

from __future__ import annotations

import pytest

from converter.ir import BilinearInterp
from emit_common import INTERP_CASES, bilinear_interp_loop
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("case", list(INTERP_CASES))
def test_bilinear_interp(case: str) -> None:
    hw, size, begin, end = INTERP_CASES[case]
    node = BilinearInterp(name="interp", inputs=["x"], outputs=["y"], size=size, crop_begin=begin, crop_end=end)
    emitted = check(graph_of(node, {"x": (2, 3, *hw), "y": (2, 3, *size)}),
                    lambda x: bilinear_interp_loop(x, size, begin, end))
    assert emitted.kinds() == ["BilinearInterp"]
