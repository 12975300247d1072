"""Eltwise -> the Eltwise helper: sum with coefficients, product or maximum of all inputs (MAX and
PROD ignore coefficients, as the source framework's MAX does)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Eltwise, Graph

ELTWISE = Helper("Eltwise", '''
class Eltwise(nn.Module):
    """Element-wise sum (with coefficients), product or maximum of all inputs."""

    def __init__(self, op, coeffs):
        super().__init__()
        self.op, self.coeffs = op, coeffs

    def forward(self, *xs):
        if self.op == "max":
            return torch.stack(xs).amax(0)
        if self.op == "prod":
            out = xs[0]
            for x in xs[1:]:
                out = out * x
            return out
        coeffs = self.coeffs or [1.0] * len(xs)
        return sum(c * x for c, x in zip(coeffs, xs))
''')


@converts(Eltwise)
def eltwise(node: Eltwise, graph: Graph) -> Built:
    coeffs = ", ".join(number(c) for c in node.coeffs)
    return Built(f"Eltwise({node.op!r}, [{coeffs}])", (ELTWISE,))
