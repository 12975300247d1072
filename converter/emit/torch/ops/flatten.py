"""Flatten -> the FlattenRange helper (torch.flatten over axis..end_axis)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Flatten, Graph

FLATTEN_RANGE = Helper("FlattenRange", '''
class FlattenRange(nn.Module):
    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x):
        return torch.flatten(x, self.start, self.end)
''')


@converts(Flatten)
def flatten(node: Flatten, graph: Graph) -> Built:
    return Built(f"FlattenRange({node.axis}, {node.end_axis})", (FLATTEN_RANGE,))
