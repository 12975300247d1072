"""Abs -> the Abs helper (torch has no |x| module)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Abs, Graph

ABS = Helper("Abs", '''
class Abs(nn.Module):
    def forward(self, x):
        return x.abs()
''')


@converts(Abs)
def abs_(node: Abs, graph: Graph) -> Built:
    return Built("Abs()", (ABS,))
