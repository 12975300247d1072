"""Fire fusion finds SqueezeNet's pattern by structure only, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Concat, Conv, Fire, Graph, Relu, Tensor
from converter.passes.fire import fuse_fire


def conv(name: str, src: str, dst: str, cin: int, cout: int, k: int, pad: int = 0, **kw) -> Conv:
    return Conv(name=name, inputs=[src], outputs=[dst], weight=np.zeros((cout, cin, k, k), np.float32),
                bias=np.zeros(cout, np.float32), pad=(pad, pad), **kw)


def fire_graph(names: tuple[str, ...] = ("sq", "e1", "e3", "cat"), *, e3_pad: int = 1, order=("e1", "e3"),
               slope: float = 0.0, extra_reader: bool = False, e3_extra_end: tuple[int, int] = (0, 0)) -> Graph:
    sq, e1, e3, cat = names
    nodes = [
        conv(sq, "x", "s0", 8, 4, 1), Relu(name=f"{sq}_relu", inputs=["s0"], outputs=["s"]),
        conv(e1, "s", "a0", 4, 6, 1), Relu(name=f"{e1}_relu", inputs=["a0"], outputs=["a"], negative_slope=slope),
        conv(e3, "s", "b0", 4, 6, 3, pad=e3_pad, extra_end=e3_extra_end),
        Relu(name=f"{e3}_relu", inputs=["b0"], outputs=["b"]),
        Concat(name=cat, inputs=["a" if order[0] == "e1" else "b", "b" if order[0] == "e1" else "a"],
               outputs=["y"]),
    ]
    outputs = ["y"]
    if extra_reader:
        nodes.append(Relu(name="spy", inputs=["s"], outputs=["z"]))
        outputs.append("z")
    size = 5 if e3_pad == 1 else 3
    shapes = {"x": (1, 8, 5, 5), "s0": (1, 4, 5, 5), "s": (1, 4, 5, 5), "a0": (1, 6, 5, 5), "a": (1, 6, 5, 5),
              "b0": (1, 6, size, size), "b": (1, 6, size, size), "y": (1, 12, 5, 5), "z": (1, 4, 5, 5)}
    graph = Graph("g", ["x"], outputs, nodes)
    graph.tensors = {n: Tensor(n, s, [(n, n)]) for n, s in shapes.items() if n != "z" or extra_reader}
    return graph


@pytest.mark.parametrize("names", [
    ("fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3", "fire2/concat"),
    ("fire2/conv1x1_1", "fire2/conv1x1_2", "fire2/conv3x3_2", "fire2/concat"),
    ("a", "b", "c", "d"),
])
def test_fuses_whatever_the_names(names):
    graph = fire_graph(names)
    assert fuse_fire(graph) == 1
    (fire,) = graph.nodes
    assert isinstance(fire, Fire)
    assert (fire.s1x1, fire.e1x1, fire.e3x3) == (4, 6, 6)
    assert fire.inputs == ["x"] and fire.outputs == ["y"]
    assert set(graph.tensors) == {"x", "y"}
    assert fire.name == ("fire2" if names[0].startswith("fire2/") else "d")


@pytest.mark.parametrize("variant", [
    {"e3_pad": 0}, {"order": ("e3", "e1")}, {"slope": 0.1}, {"extra_reader": True},
    # End padding (a kernel overhanging the input) changes what the 3x3 computes: not Fire's 3x3.
    {"e3_extra_end": (0, 1)},
])
def test_near_misses_stay_plain(variant):
    graph = fire_graph(**variant)
    before = [n.name for n in graph.nodes]
    assert fuse_fire(graph) == 0
    assert [n.name for n in graph.nodes] == before
