"""Exp: exp(scale * x) * factor against numpy in float32, the factor applied after the exponential."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Exp
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize(("scale", "factor"), [(1.0, 1.0), (0.5, 0.36787945), (-1.3862944, 2.0), (2.3025851, 1.0)])
def test_exp(scale: float, factor: float) -> None:
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], scale=scale, factor=factor),
                     {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x: np.exp(x * np.float32(scale)) * np.float32(factor))
    assert model.kinds() == ["Exp"]


def test_the_factor_comes_after_the_exponential() -> None:
    # exp(95) overflows float32 to inf before the factor e^-10 could bring it back to a finite
    # exp(85) = 8.2e36.
    factor = float(np.float32(np.exp(-10.0)))
    graph = graph_of(Exp(name="exp", inputs=["x"], outputs=["y"], factor=factor), {"x": (1, 3), "y": (1, 3)})

    def exponential_first(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(x) * np.float32(factor)

    x = np.array([[95.0, 1.0, -3.0]], np.float32)
    check(graph, exponential_first, batches=(1,), inputs={"x": lambda s, seed: x})
