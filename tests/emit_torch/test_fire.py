"""Fire against torch.nn.functional (conv2d + relu, concatenated), with torchvision's key names."""

from __future__ import annotations

import numpy as np

from converter.ir import Relu
from emit_common import fire_node, torch_fire
from emit_torch.helpers import check, graph_of


def test_matches_torch_and_keys() -> None:
    fire = fire_node()
    graph = graph_of(fire, {"x": (2, 4, 6, 5), "fire2/concat": (2, 8, 6, 5)})
    emitted = check(graph, lambda x: torch_fire(fire, x), rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["Fire"]
    assert emitted.shapes() == {
        "layers.fire2.squeeze.weight": (2, 4, 1, 1), "layers.fire2.squeeze.bias": (2,),
        "layers.fire2.expand1x1.weight": (3, 2, 1, 1), "layers.fire2.expand1x1.bias": (3,),
        "layers.fire2.expand3x3.weight": (5, 2, 3, 3), "layers.fire2.expand3x3.bias": (5,),
    }


def test_two_fires_then_relu() -> None:
    first, second = fire_node(name="fire2"), fire_node(cin=8, name="fire3")
    second.inputs = ["fire2/concat"]
    relu = Relu(name="relu", inputs=["fire3/concat"], outputs=["y"])
    graph = graph_of([first, second, relu], {"x": (1, 4, 5, 5), "fire2/concat": (1, 8, 5, 5),
                                              "fire3/concat": (1, 8, 5, 5), "y": (1, 8, 5, 5)})
    emitted = check(graph, lambda x: np.maximum(torch_fire(second, torch_fire(first, x)), 0), rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["Fire", "Fire", "ReLU"]


def test_parts_without_bias_get_zero_biases() -> None:
    # A Fire whose convolutions have no bias (Caffe's bias_term: false) still has torchvision's keys.
    fire = fire_node(bias=False)
    graph = graph_of(fire, {"x": (2, 4, 6, 5), "fire2/concat": (2, 8, 6, 5)})
    emitted = check(graph, lambda x: torch_fire(fire, x), rtol=1e-4, atol=1e-4)
    assert emitted.shapes()["layers.fire2.expand3x3.bias"] == (5,)
    assert all(not emitted.export.state_dict[f"layers.fire2.{part}.bias"].any()
               for part in ("squeeze", "expand1x1", "expand3x3"))
