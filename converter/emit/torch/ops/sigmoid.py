"""Sigmoid -> nn.Sigmoid."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Sigmoid


@converts(Sigmoid)
def sigmoid(node: Sigmoid, graph: Graph) -> Built:
    return Built("nn.Sigmoid()")
