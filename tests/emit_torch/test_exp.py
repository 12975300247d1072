"""Exp against its closed form base ** (shift + scale * x)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Exp
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize(("base", "scale", "shift"), [(None, 1.0, 0.0), (None, 0.5, -1.0), (2.0, 0.5, 0.25),
                                                      (10.0, 1.0, 0.0)])
def test_exp(base: float | None, scale: float, shift: float) -> None:
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], base=base, scale=scale, shift=shift),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    b = np.e if base is None else base
    emitted = check(graph, lambda x: (b ** (shift + scale * x.astype(np.float64))).astype(np.float32))
    assert emitted.kinds() == ["Elementwise"]
