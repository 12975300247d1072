"""Clip -> nn.ReLU6 for [0, 6], else nn.Hardtanh(low, high) (both clamp to the range)."""

from converter.emit.torch.registry import Built, converts
from converter.emit.torch.writer import number
from converter.ir import Clip, Graph


@converts(Clip)
def clip(node: Clip, graph: Graph) -> Built:
    if (node.low, node.high) == (0.0, 6.0):
        return Built("nn.ReLU6()")
    return Built(f"nn.Hardtanh({number(node.low)}, {number(node.high)})")
