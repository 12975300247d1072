"""Slice against numpy.split: every part an output, in order."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Relu, Slice
from emit_torch.helpers import check, graph_of


@pytest.mark.parametrize(("axis", "sizes"), [(1, [1, 2, 3]), (3, [2, 3]), (2, [4, 1])])
def test_slice(axis: int, sizes: list[int]) -> None:
    shape = (2, 6, 5, 5)
    outs = [f"part{i}" for i in range(len(sizes))]
    shapes = {"x": shape} | {o: shape[:axis] + (n,) + shape[axis + 1:] for o, n in zip(outs, sizes, strict=True)}
    graph = graph_of(Slice(name="slice", inputs=["x"], outputs=outs, axis=axis, sizes=sizes), shapes)
    emitted = check(graph, lambda x: np.split(x, np.cumsum(sizes)[:-1], axis=axis))
    assert emitted.kinds() == ["Split"]


def test_one_part_is_the_input() -> None:
    # Caffe allows a Slice with a single top; what follows must get a tensor.
    nodes = [Slice(name="slice", inputs=["x"], outputs=["part"], axis=1, sizes=[3]),
             Relu(name="relu", inputs=["part"], outputs=["y"])]
    emitted = check(graph_of(nodes, {"x": (2, 3, 4), "part": (2, 3, 4), "y": (2, 3, 4)}), lambda x: np.maximum(x, 0))
    assert emitted.kinds() == ["Identity", "ReLU"] and "layers.slice" in emitted.export.taps


def test_sizes_not_matching_the_outputs_are_refused() -> None:
    # As the ONNX emitter does: the forward line would unpack the wrong number of parts.
    from converter.emit.torch import emit_torch

    with pytest.raises(ValueError, match="slice: 3 sizes for 2 outputs"):
        node = Slice(name="slice", inputs=["x"], outputs=["a", "b"], axis=1, sizes=[1, 1, 1])
        emit_torch(graph_of(node, {"x": (2, 3), "a": (2, 1), "b": (2, 1)}))
