"""In-place resolution: Caffe blob names -> SSA tensor names.

Caffe lets a layer write its result into its input blob (ReLU after a convolution), so one blob
name means different values over time. Each written value becomes its own tensor: the last value
of a blob keeps the blob's name (what the rest of the net and the user know it by), earlier ones
are named "<blob>@<layer that wrote it>". A net input always keeps its own name.
"""

from __future__ import annotations

from collections import Counter

from converter.ir import Graph, Tensor
from converter.ir.graph import Shape, fresh_name


def resolve_in_place(
    graph: Graph, input_shapes: dict[str, Shape], top_shapes: dict[tuple[str, str], Shape]
) -> None:
    writes = Counter(blob for node in graph.nodes for blob in node.outputs)
    current: dict[str, str] = {}
    graph.tensors = {}

    def fresh(name: str) -> str:
        return fresh_name(name, graph.tensors)

    for blob, shape in input_shapes.items():
        current[blob] = blob
        graph.tensors[blob] = Tensor(blob, tuple(shape), [])
    for node in graph.nodes:
        node.inputs = [current[blob] for blob in node.inputs]
        outputs = []
        for blob in node.outputs:
            writes[blob] -= 1
            last = writes[blob] == 0 and blob not in input_shapes
            name = fresh(blob if last and blob not in graph.tensors else f"{blob}@{node.name}")
            graph.tensors[name] = Tensor(name, tuple(top_shapes[(node.name, blob)]), [(node.name, blob)])
            current[blob] = name
            outputs.append(name)
        node.outputs = outputs
    graph.outputs = [current[blob] for blob in graph.outputs]
