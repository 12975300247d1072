"""Relu -> nn.ReLU, or nn.LeakyReLU(negative_slope) when the slope is nonzero."""

from converter.emit.torch.registry import Built, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Relu


@converts(Relu)
def relu(node: Relu, graph: Graph) -> Built:
    return Built(f"nn.LeakyReLU({number(node.negative_slope)})" if node.negative_slope else "nn.ReLU()")
