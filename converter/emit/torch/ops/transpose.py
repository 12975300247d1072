"""Transpose -> the Permute helper (Tensor.permute, made contiguous as the source blob was)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Transpose

PERMUTE = Helper("Permute", '''
class Permute(nn.Module):
    """Output axis i is input axis order[i]."""

    def __init__(self, order):
        super().__init__()
        self.order = order

    def forward(self, x):
        return x.permute(self.order).contiguous()
''')


@converts(Transpose)
def transpose(node: Transpose, graph: Graph) -> Built:
    return Built(f"Permute({list(node.perm)})", (PERMUTE,))
