"""Slice -> the Split helper (torch.split into the IR's sizes along `axis`). A Slice into one part
(Caffe allows a single top) is the identity: a module returning one tensor, not a 1-tuple."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Slice

SPLIT = Helper("Split", '''
class Split(nn.Module):
    def __init__(self, sizes, dim):
        super().__init__()
        self.sizes, self.dim = sizes, dim

    def forward(self, x):
        return torch.split(x, self.sizes, self.dim)
''')


@converts(Slice)
def slice_(node: Slice, graph: Graph) -> Built:
    if len(node.outputs) == 1:
        return Built("nn.Identity()")
    return Built(f"Split({list(node.sizes)}, {node.axis})", (SPLIT,))
