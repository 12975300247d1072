"""Scale -> the Affine helper: x * gamma (+ beta), broadcast from `axis`; no gamma: the second input."""

from converter.emit.torch.ops._common import input_rank
from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Scale

AFFINE = Helper("Affine", '''
class Affine(nn.Module):
    """x * gamma + beta, gamma/beta broadcast from `axis`; a missing gamma is the second input."""

    def __init__(self, gamma_shape, beta_shape, axis, rank):
        super().__init__()
        self.axis, self.rank = axis, rank
        self.gamma = nn.Parameter(torch.ones(gamma_shape)) if gamma_shape is not None else None
        self.beta = nn.Parameter(torch.zeros(beta_shape)) if beta_shape is not None else None

    def _shaped(self, value: torch.Tensor):
        return value.reshape(list(value.shape) + [1] * (self.rank - self.axis - value.dim()))

    def forward(self, x, other: torch.Tensor | None = None):
        if self.gamma is not None:
            x = x * self._shaped(self.gamma)
        elif other is not None:
            x = x * self._shaped(other)
        return x + self._shaped(self.beta) if self.beta is not None else x
''')


@converts(Scale)
def scale(node: Scale, graph: Graph) -> Built:
    params = {k: v for k, v in (("gamma", node.gamma), ("beta", node.beta)) if v is not None}
    shapes = [tuple(v.shape) if v is not None else None for v in (node.gamma, node.beta)]
    rank = input_rank(node, graph)
    return Built(f"Affine({shapes[0]}, {shapes[1]}, {node.axis % rank}, {rank})", (AFFINE,), params)
