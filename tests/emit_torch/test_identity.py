"""Identity: the output is the input."""

from __future__ import annotations

from converter.ir import Identity
from emit_torch.helpers import check, graph_of


def test_identity() -> None:
    graph = graph_of(Identity(name="drop", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4), "y": (2, 3, 4)})
    emitted = check(graph, lambda x: x)
    assert emitted.kinds() == ["Identity"]


def test_several_outputs_each_get_the_input() -> None:
    # Caffe's Split: one copy per top (the identity pass normally removes it first). A module
    # returning the tensor itself would be unpacked along the batch dim by the forward line.
    node = Identity(name="split", inputs=["x"], outputs=["a", "b"])
    graph = graph_of(node, {"x": (2, 3, 4), "a": (2, 3, 4), "b": (2, 3, 4)})
    emitted = check(graph, lambda x: (x, x), batches=(1, 2, 3))
    assert emitted.export.taps == {"layers.split": ("a", "b")}
