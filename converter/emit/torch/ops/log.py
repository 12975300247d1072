"""Log -> the Log helper: log_base(shift + scale * x) as ln(scale * x + shift) * base_factor, the
factor 1 / ln(base) computed here in float32 as the source framework does (1 for the natural log)."""

import numpy as np

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Log

LOG = Helper("Log", '''
class Log(nn.Module):
    """log_base(shift + scale * x) as ln(x * scale + shift) * base_factor, base_factor = 1 / ln(base)."""

    def __init__(self, scale, shift, base_factor):
        super().__init__()
        self.scale, self.shift, self.base_factor = scale, shift, base_factor

    def forward(self, x):
        return torch.log(x * self.scale + self.shift) * self.base_factor
''')


@converts(Log)
def log(node: Log, graph: Graph) -> Built:
    with np.errstate(all="ignore"):
        base_factor = np.float32(1) if node.base is None else np.float32(1) / np.log(np.float32(node.base))
    return Built(f"Log(scale={number(node.scale)}, shift={number(node.shift)}, base_factor={number(base_factor)})",
                 (LOG,))
