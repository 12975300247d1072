"""Exp -> the Exp helper: exp(scale * x) * factor, the factor after the exponential as the IR says."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Exp, Graph

EXP = Helper("Exp", '''
class Exp(nn.Module):
    """exp(scale * x) * factor: the factor comes after the exponential, which overflows first."""

    def __init__(self, scale, factor):
        super().__init__()
        self.scale, self.factor = scale, factor

    def forward(self, x):
        return torch.exp(x * self.scale) * self.factor
''')


@converts(Exp)
def exp(node: Exp, graph: Graph) -> Built:
    return Built(f"Exp(scale={number(node.scale)}, factor={number(node.factor)})", (EXP,))
