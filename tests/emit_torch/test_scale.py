"""Scale against numpy: x * gamma (+ beta), broadcast from `axis`; no gamma: the second input."""

from __future__ import annotations

import numpy as np

from converter.ir import Scale
from emit_torch.helpers import check, graph_of, rand


def test_per_channel_with_bias() -> None:
    gamma, beta = rand((3,), 1), rand((3,), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=1)
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}),
                    lambda x: x * gamma.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1))
    assert emitted.kinds() == ["Affine"]
    assert emitted.shapes() == {"layers.scale.gamma": (3,), "layers.scale.beta": (3,)}


def test_two_axes_no_bias() -> None:
    gamma = rand((3, 4), 1)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=None, axis=1)
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x * gamma.reshape(1, 3, 4, 1))
    assert emitted.shapes() == {"layers.scale.gamma": (3, 4)}


def test_trailing_axes() -> None:
    gamma, beta = rand((4, 5), 1), rand((4, 5), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=2)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x * gamma + beta)


def test_2d_input() -> None:
    gamma, beta = rand((6,), 1), rand((6,), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=1)
    check(graph_of(node, {"x": (2, 6), "y": (2, 6)}), lambda x: x * gamma + beta)


def test_factor_from_second_input_with_batch() -> None:
    # Axis 0 with a (batch, C) factor: it follows the batch size.
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=None, axis=0)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "f": (2, 3), "y": (2, 3, 4, 5)})
    emitted = check(graph, lambda x, f: x * f[:, :, None, None])
    assert emitted.export.state_dict == {}


def test_factor_from_second_input_at_axis_1_with_bias() -> None:
    beta, factor = rand((3,), 3), rand((3,), 4)
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=beta, axis=1)
    graph = graph_of(node, {"x": (2, 3, 4, 5), "f": (3,), "y": (2, 3, 4, 5)})
    check(graph, lambda x, f: x * factor.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1),
          inputs={"f": lambda s, seed: factor})


def test_scalar_gamma_and_beta() -> None:
    # num_axes 0: 0-axis blobs, one factor and one addend for every element.
    gamma, beta = np.array(1.5, np.float32), np.array(-0.25, np.float32)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=1)
    emitted = check(graph_of(node, {"x": (2, 3, 4), "y": (2, 3, 4)}), lambda x: x * np.float32(1.5) - np.float32(0.25))
    assert emitted.shapes() == {"layers.scale.gamma": (), "layers.scale.beta": ()}


def test_scalar_factor_from_second_input() -> None:
    node = Scale(name="scale", inputs=["x", "f"], outputs=["y"], gamma=None, beta=None, axis=1)
    graph = graph_of(node, {"x": (2, 3, 4), "f": (), "y": (2, 3, 4)})
    check(graph, lambda x, f: x * f, batches=(1,), inputs={"f": lambda s, seed: np.array(3.0, np.float32)})


def test_negative_axis_counts_from_the_end() -> None:
    gamma, beta = rand((5,), 1), rand((5,), 2)
    node = Scale(name="scale", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, axis=-1)
    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), lambda x: x * gamma + beta)
