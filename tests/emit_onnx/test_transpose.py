"""Transpose against numpy's transpose: output axis i is input axis perm[i]."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import InvalidNode, Transpose
from emit_onnx.helpers import check, graph_of, ops


@pytest.mark.parametrize("perm", [(0, 2, 3, 1), (0, 3, 1, 2), (0, 1, 2, 3), (0, 2, 1)])
def test_transpose(perm: tuple[int, ...]) -> None:
    shape = (2, 3, 4, 5)[: len(perm)]
    node = Transpose(name="perm", inputs=["x"], outputs=["y"], perm=perm)
    model = check(graph_of(node, {"x": shape, "y": tuple(shape[a] for a in perm)}),
                  lambda x: np.transpose(x, perm))
    assert ops(model) == ["Transpose"]


def test_refuses_a_non_permutation() -> None:
    with pytest.raises(InvalidNode, match="permutation"):
        Transpose(name="perm", inputs=["x"], outputs=["y"], perm=(0, 2, 2, 1))
