"""Log: ln(scale * x + shift) * factor against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Log
from emit_onnx.helpers import check, graph_of, node_names, rand


@pytest.mark.parametrize(("scale", "shift", "factor"), [(1.0, 0.0, 1.0), (2.0, 5.0, 1.0), (2.0, 5.0, 0.43429446),
                                                        (1.0, 0.0, 1.442695)])
def test_log(scale: float, shift: float, factor: float) -> None:
    graph = graph_of(Log(name="log", inputs=["x"], outputs=["y"], scale=scale, shift=shift, factor=factor),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})

    def expected(x: np.ndarray) -> np.ndarray:
        return np.log(x * np.float32(scale) + np.float32(shift)) * np.float32(factor)

    model = check(graph, expected, inputs={"x": lambda s, seed: rand(s, seed, 0.1, 3.0)})
    assert [n.op_type for n in model.graph.node][-1] == ("Mul" if factor != 1 else "Log")
    assert node_names(model)[-1] == "log"
