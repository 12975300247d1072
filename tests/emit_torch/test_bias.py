"""Bias against numpy: x + beta, broadcast from `axis`; no beta: the second input."""

from __future__ import annotations

import numpy as np

from converter.ir import Bias
from emit_torch.helpers import check, graph_of, rand


def test_constant_per_channel() -> None:
    beta = rand((3,), 1)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=1)
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x + beta.reshape(1, 3, 1, 1))
    assert emitted.kinds() == ["AddBias"] and emitted.shapes() == {"layers.bias.beta": (3,)}


def test_constant_two_trailing_axes() -> None:
    beta = rand((4, 5), 1)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=2)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x + beta)


def test_second_input_with_batch() -> None:
    node = Bias(name="bias", inputs=["x", "b"], outputs=["y"], beta=None, axis=0)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "b": (2, 3), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x, b: x + b[:, :, None, None])
    assert emitted.export.state_dict == {}


def test_scalar_beta() -> None:
    # num_axes 0: a 0-axis blob added to every element.
    beta = np.array(0.75, np.float32)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=1)
    emitted = check(graph_of(node, {"x": (2, 3, 4), "y": (2, 3, 4)}), lambda x: x + np.float32(0.75))
    assert emitted.shapes() == {"layers.bias.beta": ()}


def test_negative_axis_counts_from_the_end() -> None:
    beta = rand((4, 5), 1)
    node = Bias(name="bias", inputs=["x"], outputs=["y"], beta=beta, axis=-2)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x + beta)
