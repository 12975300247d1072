"""Scale (constant factor, factor from a second input, with and without bias) against numpy."""

from __future__ import annotations

from converter.ir import Scale
from emit_onnx.helpers import check, graph_of, initializers, ops, rand


def test_per_channel_with_bias() -> None:
    gamma, beta = rand((3,), 1), rand((3,), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=1)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}),
                  lambda x: x * gamma.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1))
    assert ops(model) == ["Mul", "Add"] and model.graph.node[-1].name == "scale"
    assert set(initializers(model)) == {"scale.weight", "scale.bias"}


def test_two_axes_no_bias() -> None:
    gamma = rand((3, 4), 1)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=None, axis=1)
    model = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x * gamma.reshape(1, 3, 4, 1))
    assert ops(model) == ["Mul"]


def test_trailing_axes() -> None:
    gamma, beta = rand((4, 5), 1), rand((4, 5), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=2)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x * gamma + beta)


def test_factor_from_second_input_with_batch() -> None:
    # Axis 0 with a (batch, C) factor: reshaped to (batch, C, 1, 1) with the batch copied, not baked in.
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=None, axis=0)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "f": (2, 3), "y": (2, 3, 4, 5)})
    model = check(graph, lambda x, f: x * f[:, :, None, None])
    assert ops(model) == ["Reshape", "Mul"]
    assert model.graph.node[0].name == "scale/weight_shape"


def test_factor_from_second_input_at_axis_1_with_bias() -> None:
    beta = rand((3,), 3)
    factor = rand((3,), 4)
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=beta, axis=1)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "f": (3,), "y": (2, 3, 4, 5)})
    check(graph, lambda x, f: x * factor.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1),
          inputs={"f": lambda s, seed: factor})


def test_factor_covering_the_trailing_dims_needs_no_reshape() -> None:
    factor = rand((3, 4), 5)
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=None, axis=1)
    graph = graph_of(node, {"x": (2, 3, 4), "f": (3, 4), "y": (2, 3, 4)})
    model = check(graph, lambda x, f: x * factor[None], inputs={"f": lambda s, seed: factor})
    assert ops(model) == ["Mul"]
