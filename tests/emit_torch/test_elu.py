"""Elu against its closed form: x if x > 0 else alpha * (exp(x) - 1)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Elu
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("alpha", [1.0, 0.3, 2.5])
def test_elu(alpha: float) -> None:
    graph = graph_of(Elu(name="elu", inputs=["x"], outputs=["y"], alpha=alpha), {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x: np.where(x > 0, x, alpha * np.expm1(x.astype(np.float64))).astype(np.float32))
    assert emitted.kinds() == ["ELU"]
