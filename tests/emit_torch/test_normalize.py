"""Normalize against emit_common.normalize_loop, written from the IR docstring (float64 sums): across
space or per position, one shared scale or one per channel, 2-D to 4-D inputs."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Normalize
from emit_common import NORMALIZE_CASES, normalize_loop
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("case", NORMALIZE_CASES.values(), ids=NORMALIZE_CASES.keys())
def test_normalize(case: tuple) -> None:
    shape, across, shared, eps = case
    scale = np.float32(20.0).reshape(()) if shared else np.linspace(1, 3, shape[1], dtype=np.float32)
    node = Normalize(name="norm", inputs=["x"], outputs=["y"], scale=scale, across_spatial=across, eps=eps)
    check(graph_of(node, {"x": shape, "y": shape}), lambda x: normalize_loop(x, scale, across, eps), rtol=1e-5)
