"""Identity removal: test-time Dropout and Split vanish; their tops alias their input."""

from __future__ import annotations

from converter.ir import Graph, Identity, Node


class _Names:
    """Renames decided while walking the graph, applied to every node once at the end (renaming
    through the whole graph at each identity made the pass quadratic)."""

    def __init__(self) -> None:
        self._alias: dict[str, str] = {}

    def rename(self, old: str, new: str) -> None:
        self._alias[old] = new

    def current(self, name: str) -> str:
        root = name
        while root in self._alias:
            root = self._alias[root]
        while name != root:  # shorten the chain for the next lookup
            self._alias[name], name = root, self._alias[name]
        return root


def remove_identities(graph: Graph) -> None:
    names = _Names()
    outputs = set(graph.outputs)  # under their current names
    inputs = set(graph.inputs)
    kept: list[Node] = []
    for node in graph.nodes:
        if not isinstance(node, Identity):
            kept.append(node)
            continue
        source = names.current(node.inputs[0])
        for out in node.outputs:
            aliased = graph.tensors.pop(out)
            held = graph.tensors[source]
            in_place = {top for _, top in held.sources} & {top for _, top in aliased.sources}
            held.sources.extend(aliased.sources)
            if (out in outputs or in_place) and source not in inputs and source not in outputs:
                # Keep the name the user sees: a net output's, or the blob's own name that its last
                # in-place writer (a test-time Dropout) gave it.
                tensor = graph.tensors.pop(source)
                tensor.name = out
                graph.tensors[out] = tensor
                names.rename(source, out)
                source = out
            else:
                names.rename(out, source)
                if out in outputs:
                    outputs.discard(out)
                    outputs.add(source)
    for node in kept:
        node.inputs = [names.current(t) for t in node.inputs]
        node.outputs = [names.current(t) for t in node.outputs]
    graph.outputs = [names.current(t) for t in graph.outputs]
    graph.nodes = kept
