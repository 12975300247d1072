"""Graph and tensor containers."""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass, field

from converter.ir.ops import Node

Shape = tuple[int, ...]


def fresh_name(name: str, taken: Container[str]) -> str:
    """`name`, or the first of name#2, name#3, ... that `taken` does not hold."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


@dataclass
class Tensor:
    name: str
    shape: Shape
    # Caffe (layer, top) pairs that hold this value: several when identities (Dropout, Split) or
    # in-place layers that change nothing alias one value.
    sources: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Graph:
    name: str
    inputs: list[str]
    outputs: list[str]
    nodes: list[Node]
    tensors: dict[str, Tensor] = field(default_factory=dict)
    # Free-form facts emitters record in their outputs (source files, hashes, input layout), as
    # str(value). A value may still be computing (a source file's sha256 is hashed in the
    # background), so emitters call str() as late as they can.
    metadata: dict[str, object] = field(default_factory=dict)
    # One line saying what the graph is and where it came from (an ONNX model's doc_string).
    doc: str = ""
    # Caffe (layer, top) values that exist only inside the node named (BatchNorm folding absorbed
    # them): no emitted model computes them on their own.
    folded: dict[tuple[str, str], str] = field(default_factory=dict)

    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if tensor in node.outputs:
                return node
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [node for node in self.nodes if tensor in node.inputs]

    def sole_consumer(self, tensor: str) -> Node | None:
        """The one node reading `tensor`, if exactly one does and it is not a graph output (which
        the user reads too): the tensor can then be fused away into that node."""
        if tensor in self.outputs:
            return None
        consumers = self.consumers(tensor)
        return consumers[0] if len(consumers) == 1 else None

    def nodes_of(self, kind: type[Node]) -> Iterator[Node]:
        return (node for node in self.nodes if isinstance(node, kind))

    def shape(self, tensor: str) -> Shape:
        return self.tensors[tensor].shape


class ConsumerIndex:
    """Which nodes read each tensor, found in one pass over the graph: a pass asking it node after
    node stays linear in the graph's size (Graph.consumers walks every node each time). The pass
    keeps it current with `replace` when it swaps a reader for another."""

    def __init__(self, graph: Graph) -> None:
        self._outputs = set(graph.outputs)
        self._readers: dict[str, list[Node]] = {}
        for node in graph.nodes:
            for tensor in dict.fromkeys(node.inputs):
                self._readers.setdefault(tensor, []).append(node)

    def consumers(self, tensor: str) -> list[Node]:
        return list(self._readers.get(tensor, ()))

    def sole_consumer(self, tensor: str) -> Node | None:
        """As Graph.sole_consumer."""
        if tensor in self._outputs:
            return None
        readers = self._readers.get(tensor, ())
        return readers[0] if len(readers) == 1 else None

    def replace(self, tensor: str, old: Node, new: Node) -> None:
        self._readers[tensor] = [new if node is old else node for node in self._readers.get(tensor, ())]
