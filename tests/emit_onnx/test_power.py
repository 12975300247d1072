"""Power against numpy; identity parts are left out."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Power
from emit_onnx.helpers import check, graph_of, node_names, ops, rand

CASES = {
    # (power, scale, shift): expected ONNX ops
    "identity": ((1.0, 1.0, 0.0), ["Identity"]),
    "square": ((2.0, 1.0, 0.0), ["Pow"]),
    "scale_only": ((1.0, 0.5, 0.0), ["Mul"]),
    "shift_only": ((1.0, 1.0, -3.0), ["Add"]),
    "all": ((2.0, 0.5, 3.0), ["Mul", "Add", "Pow"]),
    "fractional": ((0.5, 2.0, 5.0), ["Mul", "Add", "Pow"]),
    "zero_power": ((0.0, 2.0, 1.0), ["Mul", "Add", "Pow"]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_power(case: tuple) -> None:
    (power, scale, shift), expected_ops = case
    graph = graph_of(Power(name="pow", inputs=["x"], outputs=["y"], power=power, scale=scale, shift=shift),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x: ((shift + scale * x.astype(np.float64)) ** power).astype(np.float32),
                  inputs={"x": lambda s, seed: rand(s, seed, 0.0, 2.0)})
    assert ops(model) == expected_ops
    assert node_names(model)[-1] == "pow"
