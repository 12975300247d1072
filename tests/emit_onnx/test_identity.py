"""Identity with one and several outputs."""

from __future__ import annotations

from converter.ir import Identity
from emit_onnx.helpers import check, graph_of, node_names, ops


def test_identity() -> None:
    node = Identity(name="drop", inputs=["x"], outputs=["y"])
    model = check(graph_of(node, {"x": (2, 3), "y": (2, 3)}), lambda x: x)
    assert ops(model) == ["Identity"] and node_names(model) == ["drop"]


def test_split_to_several_outputs() -> None:
    node = Identity(name="split", inputs=["x"], outputs=["a", "b"])
    model = check(graph_of(node, {"x": (2, 3), "a": (2, 3), "b": (2, 3)}), lambda x: (x, x))
    assert node_names(model) == ["split/a", "split/b"]
