"""Bias -> the AddBias helper: x + beta broadcast from `axis`; no beta: the second input."""

from converter.emit.torch.ops._common import input_rank
from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Bias, Graph

ADD_BIAS = Helper("AddBias", '''
class AddBias(nn.Module):
    """x + beta broadcast from `axis`; a missing beta is the second input."""

    def __init__(self, beta_shape, axis, rank):
        super().__init__()
        self.axis, self.rank = axis, rank
        self.beta = nn.Parameter(torch.zeros(beta_shape)) if beta_shape is not None else None

    def forward(self, x, other: torch.Tensor | None = None):
        beta = self.beta if self.beta is not None else other
        assert beta is not None, "AddBias without beta needs a second input"
        return x + beta.reshape(list(beta.shape) + [1] * (self.rank - self.axis - beta.dim()))
''')


@converts(Bias)
def bias(node: Bias, graph: Graph) -> Built:
    shape = tuple(node.beta.shape) if node.beta is not None else None
    params = {"beta": node.beta} if node.beta is not None else {}
    rank = input_rank(node, graph)
    return Built(f"AddBias({shape}, {node.axis % rank}, {rank})", (ADD_BIAS,), params)
