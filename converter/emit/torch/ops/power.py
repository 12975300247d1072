"""Power -> the Power helper: (shift + scale * x) ** power; when power or scale is 0, the Filled
helper instead: the IR's constant (1, or shift ** power) whatever x holds, even inf or NaN, which
multiplying by 0 would turn into NaN."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Power

POWER = Helper("Power", '''
class Power(nn.Module):
    """(shift + scale * x) ** power, step by step as Caffe computes it: x * scale unless scale is 1,
    + shift unless shift is 0, ** power unless power is 1 (so -0.0 keeps its sign, as in Caffe).
    The exponent is a tensor so that pow follows C's rules: with a number, PyTorch takes sqrt or
    rsqrt for 0.5 and -0.5, which differ from pow at -inf and -0.0."""

    def __init__(self, power, scale, shift):
        super().__init__()
        self.power, self.scale, self.shift = power, scale, shift

    def forward(self, x):
        if self.scale != 1:
            x = x * self.scale
        if self.shift != 0:
            x = x + self.shift
        if self.power != 1:
            x = torch.pow(x, x.new_tensor(self.power))
        return x
''')

FILLED = Helper("Filled", '''
class Filled(nn.Module):
    """A tensor shaped like the input, every element `value`; the input's values are never read."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return torch.full_like(x, self.value)
''')


def _constant(node: Power) -> float:
    """The IR's output when power or scale is 0: 1 for power 0, else shift ** power in float32 by C's
    pow (a tensor exponent, as in the Power helper)."""
    import torch

    if node.power == 0:
        return 1.0
    return float(torch.pow(torch.tensor(node.shift, dtype=torch.float32),
                           torch.tensor(node.power, dtype=torch.float32)))


@converts(Power)
def power(node: Power, graph: Graph) -> Built:
    if node.power == 0 or node.scale == 0:
        return Built(f"Filled({number(_constant(node))})", (FILLED,))
    return Built(f"Power(power={number(node.power)}, scale={number(node.scale)}, shift={number(node.shift)})",
                 (POWER,))
