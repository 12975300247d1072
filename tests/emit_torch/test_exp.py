"""Exp against its closed form base ** (shift + scale * x), and against Caffe's order of operations
(exponential first, then the factor base ** shift) where float32 overflow tells them apart."""

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
    assert emitted.kinds() == ["Exp"]


@pytest.mark.parametrize(("base", "shift", "x"), [(None, -10.0, 95.0), (2.0, -20.0, 130.0)])
def test_outer_factor_comes_after_the_exponential(base: float | None, shift: float, x: float) -> None:
    # exp_layer.cpp computes exp(ln(base) * scale * x), then multiplies by base ** shift, in float32:
    # e**95 (2**130) overflows to inf before the factor, where e**85 (2**110) would be a finite 8.2e36
    # (1.3e33).
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], base=base, shift=shift), {"x": (1, 3), "y": (1, 3)})
    b = np.float32(np.e if base is None else base)

    def caffe_order(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.power(b, x.astype(np.float32)) * np.power(b, np.float32(shift))

    emitted = check(graph, caffe_order, batches=(1,), rtol=1e-5, atol=0,
              inputs={"x": lambda s, seed: np.array([[x, 1.0, -3.0]], np.float32)})
    assert emitted.kinds() == ["Exp"]
