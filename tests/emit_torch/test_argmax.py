"""ArgMax against the IR's loop (equal values: higher index first), with many ties."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import ArgMax
from emit_common import argmax_loop
from emit_torch.helpers import check, graph_of


def ties(shape: tuple, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float32)


@pytest.mark.parametrize(("axis", "top_k", "out_max_val", "out"), [
    (None, 1, False, (2, 1, 1, 1)), (None, 3, True, (2, 2, 3, 1)), (1, 2, False, (2, 2, 3, 4)),
    (3, 2, True, (2, 4, 3, 2)),
])
def test_argmax(axis: int | None, top_k: int, out_max_val: bool, out: tuple) -> None:
    node = ArgMax(name="argmax", inputs=["x"], outputs=["y"], axis=axis, top_k=top_k, out_max_val=out_max_val)
    emitted = check(graph_of(node, {"x": (2, 4, 3, 4), "y": out}),
                    lambda x: argmax_loop(x, axis, top_k, out_max_val, 4), inputs={"x": ties})
    assert emitted.kinds() == ["TopKIndices"]
