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
    assert emitted.kinds() == ["Log"]


@pytest.mark.parametrize("base", [10.0, 2.0, 3.0, 0.5])
def test_base_factor_is_caffes_float32_reciprocal(base: float) -> None:
    # log_layer.cpp: base_scale_ = Dtype(1) / log(base), both in float32 (for base 10 that is
    # 0.43429446, one ulp below the float32 nearest 1 / ln 10 = 0.4342945).
    graph = graph_of(Log(name="log", inputs=["x"], outputs=["y"], base=base), {"x": (1, 2), "y": (1, 2)})
    caffe_factor = np.float32(1) / np.log(np.float32(base))
    emitted = check(graph, lambda x: np.log(x) * caffe_factor, inputs={"x": lambda s, seed: rand(s, seed, 0.1, 3.0)})
    assert np.float32(emitted.module.layers["log"].base_factor) == caffe_factor
