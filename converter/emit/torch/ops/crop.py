"""Crop -> the Crop helper: Tensor.narrow on each axis from `axis` on."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Crop, Graph

CROP = Helper("Crop", '''
class Crop(nn.Module):
    """x narrowed to offsets[i] : offsets[i] + sizes[i] on axis `axis` + i."""

    def __init__(self, axis, offsets, sizes):
        super().__init__()
        self.axis, self.offsets, self.sizes = axis, offsets, sizes

    def forward(self, x):
        for i, (offset, size) in enumerate(zip(self.offsets, self.sizes)):
            x = x.narrow(self.axis + i, offset, size)
        return x
''')


@converts(Crop)
def crop(node: Crop, graph: Graph) -> Built:
    return Built(f"Crop({node.axis}, {list(node.offsets)}, {list(node.sizes)})", (CROP,))
