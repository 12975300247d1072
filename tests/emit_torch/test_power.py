"""Power against its closed form (shift + scale * x) ** power."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Power
from emit_torch.helpers import check, graph_of, rand

CASES = {  # (power, scale, shift)
    "identity": (1.0, 1.0, 0.0),
    "square": (2.0, 1.0, 0.0),
    "scale_shift": (1.0, 0.5, -3.0),
    "all": (2.0, 0.5, 3.0),
    "fractional": (0.5, 2.0, 5.0),
    "zero_power": (0.0, 2.0, 1.0),
    "negative_power": (-1.0, 1.0, 0.5),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_power(case: tuple[float, float, float]) -> None:
    power, scale, shift = case
    graph = graph_of(Power(name="pow", inputs=["x"], outputs=["y"], power=power, scale=scale, shift=shift),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x: ((shift + scale * x.astype(np.float64)) ** power).astype(np.float32),
                    inputs={"x": lambda s, seed: rand(s, seed, 0.0, 2.0)})
    assert emitted.kinds() == ["Elementwise"]
