"""Crop against numpy slicing (a Slice node)."""

from __future__ import annotations

import pytest

from converter.ir import Crop
from emit_common import CROP_CASES
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize("case", list(CROP_CASES))
def test_crop(case: str) -> None:
    shape, axis, offsets, sizes = CROP_CASES[case]
    node = Crop(name="crop", inputs=["x"], outputs=["y"], axis=axis, offsets=offsets, sizes=sizes)
    window = (slice(None),) * axis + tuple(slice(o, o + s) for o, s in zip(offsets, sizes, strict=True))
    model = check(graph_of(node, {"x": shape, "y": shape[:axis] + tuple(sizes)}), lambda x: x[window])
    assert ops(model) == ["Slice"]
