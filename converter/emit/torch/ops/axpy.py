"""Axpy -> the Axpy helper: a (one factor per sample and channel) * x + y."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Axpy, Graph

AXPY = Helper("Axpy", '''
class Axpy(nn.Module):
    """a * x + y, a of shape (N, C) or (N, C, 1, ...) broadcast over x's other dims."""

    def forward(self, a, x, y):
        return a.reshape(a.shape[0], a.shape[1], *([1] * (x.dim() - 2))) * x + y
''')


@converts(Axpy)
def axpy(node: Axpy, graph: Graph) -> Built:
    return Built("Axpy()", (AXPY,))
