"""Identity removal: test-time Dropout and Split vanish; their tops alias their input."""

from __future__ import annotations

from converter.ir import Graph, Identity


def _rename(graph: Graph, old: str, new: str) -> None:
    for node in graph.nodes:
        node.inputs = [new if t == old else t for t in node.inputs]
        node.outputs = [new if t == old else t for t in node.outputs]
    graph.outputs = [new if t == old else t for t in graph.outputs]


def remove_identities(graph: Graph) -> None:
    for node in list(graph.nodes):
        if not isinstance(node, Identity):
            continue
        (source,) = node.inputs
        graph.nodes.remove(node)
        for out in node.outputs:
            aliased = graph.tensors.pop(out)
            graph.tensors[source].sources.extend(aliased.sources)
            if out in graph.outputs and source not in graph.inputs and source not in graph.outputs:
                # Keep the name the user sees for a net output: the value takes the output's name.
                tensor = graph.tensors.pop(source)
                tensor.name = out
                graph.tensors[out] = tensor
                _rename(graph, source, out)
                source = out
            else:
                _rename(graph, out, source)
