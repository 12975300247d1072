"""Exp -> the Exp helper: base ** (shift + scale * x) in the IR's order, exp(inner * x) * outer
with inner = ln(base) * scale and outer = base ** shift, both computed here in float32 as the source
framework does; the exponential therefore overflows at the same inputs as there."""

import numpy as np

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Exp, Graph

EXP = Helper("Exp", '''
class Exp(nn.Module):
    """base ** (shift + scale * x) as exp(inner * x) * outer, inner = ln(base) * scale and
    outer = base ** shift: the factor comes after the exponential, as in Caffe."""

    def __init__(self, inner, outer):
        super().__init__()
        self.inner, self.outer = inner, outer

    def forward(self, x):
        return torch.exp(x * self.inner) * self.outer
''')


@converts(Exp)
def exp(node: Exp, graph: Graph) -> Built:
    base, shift = np.float32(node.base or 0), np.float32(node.shift)
    with np.errstate(all="ignore"):  # an infinite factor is the model's, written as such
        ln_base = np.float32(1) if node.base is None else np.log(base)
        inner = ln_base * np.float32(node.scale)
        outer = np.float32(1) if shift == 0 else np.exp(shift) if node.base is None else np.power(base, shift)
    return Built(f"Exp(inner={number(inner)}, outer={number(outer)})", (EXP,))
