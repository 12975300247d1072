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
            kept = graph.tensors[source]
            in_place = {top for _, top in kept.sources} & {top for _, top in aliased.sources}
            kept.sources.extend(aliased.sources)
            if (out in graph.outputs or in_place) and source not in graph.inputs and source not in graph.outputs:
                # Keep the name the user sees: a net output's, or the blob's own name that its last
                # in-place writer (a test-time Dropout) gave it.
                tensor = graph.tensors.pop(source)
                tensor.name = out
                graph.tensors[out] = tensor
                _rename(graph, source, out)
                source = out
            else:
                _rename(graph, out, source)
