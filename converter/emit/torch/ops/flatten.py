"""Flatten -> the FlattenRange helper: torch.flatten over axis..end_axis, or, when end_axis is the
axis just before `axis` (the source framework allows it: nothing to merge), a new axis of size 1
inserted at `axis`, which torch.flatten refuses."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Flatten, Graph

FLATTEN_RANGE = Helper("FlattenRange", '''
class FlattenRange(nn.Module):
    """Merge dims start..end into one; with end = start - 1, insert a dim of size 1 at start."""

    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x):
        if self.end == self.start - 1:
            return x.unsqueeze(self.start)
        return torch.flatten(x, self.start, self.end)
''')


@converts(Flatten)
def flatten(node: Flatten, graph: Graph) -> Built:
    rank = len(graph.tensors[node.inputs[0]].shape)
    start, end = node.axis % rank, node.end_axis % rank
    if end < start - 1:
        raise ValueError(f"{node.name}: end_axis {node.end_axis} lies before axis {node.axis}")
    return Built(f"FlattenRange({start}, {end})", (FLATTEN_RANGE,))
