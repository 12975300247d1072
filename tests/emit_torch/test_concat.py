"""Concat against numpy.concatenate."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Concat
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_concat(axis: int) -> None:
    a, b, c = (2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5)
    out = list(a)
    out[axis] *= 3
    node = Concat(name="cat", inputs=["a", "b", "c"], outputs=["y"], axis=axis)
    emitted = check(graph_of(node, {"a": a, "b": b, "c": c, "y": tuple(out)}),
                    lambda *xs: np.concatenate(xs, axis=axis))
    assert emitted.kinds() == ["Concat"]


def test_same_input_twice() -> None:
    node = Concat(name="cat", inputs=["x", "x"], outputs=["y"], axis=1)
    check(graph_of(node, {"x": (2, 3, 2, 2), "y": (2, 6, 2, 2)}, inputs=["x"]), lambda x: np.concatenate([x, x], 1))
