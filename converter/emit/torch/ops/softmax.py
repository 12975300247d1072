"""Softmax -> nn.Softmax(dim=axis)."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Softmax


@converts(Softmax)
def softmax(node: Softmax, graph: Graph) -> Built:
    return Built(f"nn.Softmax(dim={node.axis})")
