"""Transpose against numpy's transpose: output axis i is input axis perm[i]; the result is contiguous."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Transpose
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize("perm", [(0, 2, 3, 1), (0, 3, 1, 2), (0, 2, 1)])
def test_transpose(perm: tuple[int, ...]) -> None:
    shape = (2, 3, 4, 5)[: len(perm)]
    node = Transpose(name="perm", inputs=["x"], outputs=["y"], perm=perm)
    emitted = check(graph_of(node, {"x": shape, "y": tuple(shape[a] for a in perm)}), lambda x: np.transpose(x, perm))
    assert emitted.kinds() == ["Permute"]
