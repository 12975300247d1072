"""Fire against torch.nn.functional (conv2d + relu, concatenated), names and internal tensors."""

from __future__ import annotations

import numpy as np

from converter.ir import Relu
from emit_common import fire_node, torch_fire
from emit_onnx.helpers import check, graph_of, initializers, node_names, ops


def test_matches_torch_and_names() -> None:
    fire = fire_node()
    graph = graph_of(fire, {"x": (2, 4, 6, 5), "fire2/concat": (2, 8, 6, 5)})
    model = check(graph, lambda x: torch_fire(fire, x), rtol=1e-4, atol=1e-4)
    assert ops(model) == ["Conv", "Relu"] * 3 + ["Concat"]
    assert node_names(model) == ["fire2/squeeze1x1", "fire2/squeeze1x1/relu", "fire2/expand1x1",
                                 "fire2/expand1x1/relu", "fire2/expand3x3", "fire2/expand3x3/relu", "fire2/concat"]
    assert set(initializers(model)) == {f"fire2/{p}.{w}" for p in ("squeeze1x1", "expand1x1", "expand3x3")
                                        for w in ("weight", "bias")}
    relu_outputs = [n.output[0] for n in model.graph.node if n.op_type == "Relu"]
    assert relu_outputs == ["fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3"]
    assert model.graph.node[-1].output == ["fire2/concat"]


def test_internal_names_never_clash_with_graph_tensors() -> None:
    # The graph's input and a later tensor carry the names the sub-convolutions would use.
    fire = fire_node(name="f")
    fire.inputs = ["f/squeeze1x1"]
    relu = Relu(name="after", inputs=["f/concat"], outputs=["f/expand1x1"])
    graph = graph_of([fire, relu], {"f/squeeze1x1": (1, 4, 5, 5), "f/concat": (1, 8, 5, 5),
                                    "f/expand1x1": (1, 8, 5, 5)}, outputs=["f/concat", "f/expand1x1"])
    model = check(graph, lambda x: (torch_fire(fire, x), np.maximum(torch_fire(fire, x), 0)), rtol=1e-4, atol=1e-4)
    produced = [o for n in model.graph.node for o in n.output]
    assert len(produced) == len(set(produced))
    assert produced.count("f/expand1x1") == 1 and produced.count("f/squeeze1x1") == 0
