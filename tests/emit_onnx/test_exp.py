"""Exp against numpy (natural and other bases, with scale and shift)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Exp
from emit_onnx.helpers import check, graph_of, node_names


@pytest.mark.parametrize(("base", "scale", "shift"), [(None, 1.0, 0.0), (None, 0.5, -1.0), (2.0, 0.5, 0.25),
                                                      (10.0, 1.0, 0.0)])
def test_exp(base: float | None, scale: float, shift: float) -> None:
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], base=base, scale=scale, shift=shift),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    b = np.e if base is None else base
    model = check(graph, lambda x: (b ** (shift + scale * x.astype(np.float64))).astype(np.float32))
    assert node_names(model)[-1] == "exp"


def test_outer_factor_comes_after_the_exponential() -> None:
    # base e, shift -10: the IR computes exp(x) * e**-10 in float32 (Caffe's exp_layer.cpp order), so
    # exp(95) overflows to inf before the factor; exp(95 - 10) would be a finite 8.2e36.
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], shift=-10.0), {"x": (1, 3), "y": (1, 3)})
    small = np.float32(np.exp(-10.0))

    def caffe_order(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(x.astype(np.float32)) * small

    model = check(graph, caffe_order, batches=(1,),
                  inputs={"x": lambda s, seed: np.array([[95.0, 1.0, -3.0]], np.float32)})
    assert [n.op_type for n in model.graph.node] == ["Exp", "Mul"]
