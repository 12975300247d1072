"""Log against its closed form log_base(shift + scale * x)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from converter.ir import Log
from emit_torch.helpers import check, graph_of, rand


@pytest.mark.parametrize(("base", "scale", "shift"), [(None, 1.0, 0.0), (None, 2.0, 5.0), (10.0, 2.0, 5.0),
                                                      (2.0, 1.0, 0.0)])
def test_log(base: float | None, scale: float, shift: float) -> None:
    graph = graph_of(Log(name="log", inputs=["x"], outputs=["y"], base=base, scale=scale, shift=shift),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})

    def expected(x: np.ndarray) -> np.ndarray:
        ln = np.log(shift + scale * x.astype(np.float64))
        return (ln if base is None else ln / math.log(base)).astype(np.float32)

    emitted = check(graph, expected, inputs={"x": lambda s, seed: rand(s, seed, 0.1, 3.0)})
    assert emitted.kinds() == ["Elementwise"]
