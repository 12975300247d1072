"""Graph and tensor containers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from converter.ir.ops import Node

Shape = tuple[int, ...]


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
