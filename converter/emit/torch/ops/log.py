"""Log -> the Log helper: ln(scale * x + shift) * factor."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Log

LOG = Helper("Log", '''
class Log(nn.Module):
    """ln(x * scale + shift) * factor (factor = 1 / ln(base) for a logarithm to a base)."""

    def __init__(self, scale, shift, factor):
        super().__init__()
        self.scale, self.shift, self.factor = scale, shift, factor

    def forward(self, x):
        return torch.log(x * self.scale + self.shift) * self.factor
''')


@converts(Log)
def log(node: Log, graph: Graph) -> Built:
    return Built(f"Log(scale={number(node.scale)}, shift={number(node.shift)}, factor={number(node.factor)})", (LOG,))
