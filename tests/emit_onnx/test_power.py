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


@pytest.mark.parametrize(("power", "scale", "shift", "value"), [(0.0, 2.0, 1.0, 1.0), (0.0, 0.0, 0.0, 1.0),
                                                                 (2.0, 0.0, 3.0, 9.0), (-1.0, 0.0, 4.0, 0.25)])
def test_zero_power_or_scale_is_a_constant_even_for_infinite_inputs(power: float, scale: float, shift: float,
                                                                   value: float) -> None:
    # The IR (like Caffe's power_layer.cpp, which fills the top without reading the bottom) gives
    # 1 for power 0 and shift ** power for scale 0; x * 0 would turn inf and NaN into NaN instead.
    graph = graph_of(Power(name="pow", inputs=["x"], outputs=["y"], power=power, scale=scale, shift=shift),
                     {"x": (2, 3, 4), "y": (2, 3, 4)})

    def special(shape: tuple, seed: int) -> np.ndarray:
        x = rand(shape, seed)
        x.reshape(-1)[:3] = [np.inf, -np.inf, np.nan]
        return x

    model = check(graph, lambda x: np.full(x.shape, value, np.float32), inputs={"x": special})
    assert ops(model) == ["Shape", "ConstantOfShape"] and node_names(model)[-1] == "pow"
