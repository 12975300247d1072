"""Eltwise -> the Eltwise helper: sum with coefficients, product or maximum of all inputs (MAX and
PROD ignore coefficients, as the source framework's MAX does)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Eltwise, Graph

ELTWISE = Helper("Eltwise", '''
class Eltwise(nn.Module):
    """Element-wise sum (with coefficients), product or maximum of all inputs."""

    coeffs: list[float]

    def __init__(self, op, coeffs):
        super().__init__()
        self.op = op
        self.coeffs = [float(c) for c in coeffs]

    def forward(self, xs: list[torch.Tensor]):
        if self.op == "max":
            return torch.stack(xs).amax(0)
        out = xs[0]
        if self.op == "prod":
            for i in range(1, len(xs)):
                out = out * xs[i]
            return out
        coeffs: list[float] = self.coeffs if len(self.coeffs) > 0 else [1.0] * len(xs)
        out = coeffs[0] * out
        for i in range(1, len(xs)):
            out = out + coeffs[i] * xs[i]
        return out
''')


@converts(Eltwise)
def eltwise(node: Eltwise, graph: Graph) -> Built:
    coeffs = ", ".join(number(c) for c in node.coeffs)
    return Built(f"Eltwise({node.op!r}, [{coeffs}])", (ELTWISE,), takes_list=True)
