"""Concat -> the Concat helper (torch.cat along `axis`)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Concat, Graph

CONCAT = Helper("Concat", '''
class Concat(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, xs: list[torch.Tensor]):
        return torch.cat(xs, self.dim)
''')


@converts(Concat)
def concat(node: Concat, graph: Graph) -> Built:
    return Built(f"Concat({node.axis})", (CONCAT,), takes_list=True)
