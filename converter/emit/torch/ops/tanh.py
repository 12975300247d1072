"""Tanh -> nn.Tanh."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Tanh


@converts(Tanh)
def tanh(node: Tanh, graph: Graph) -> Built:
    return Built("nn.Tanh()")
