"""Bias (constant and second input) against numpy."""

from __future__ import annotations

from converter.ir import Bias
from emit_onnx.helpers import check, graph_of, initializers, ops, rand


def test_constant_per_channel() -> None:
    beta = rand((3,), 1)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=1)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x + beta.reshape(1, 3, 1, 1))
    assert ops(model) == ["Add"] and set(initializers(model)) == {"bias.bias"}


def test_constant_two_axes_negative_axis() -> None:
    beta = rand((4, 5), 1)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=-2)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x + beta)


def test_second_input_with_batch() -> None:
    node = Bias(name="bias", inputs=["x", "b"], outputs=["y"], beta=None, axis=0)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "b": (2, 3), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x, b: x + b[:, :, None, None])
    assert ops(model) == ["Reshape", "Add"]
