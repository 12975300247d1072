"""BilinearInterp -> the BilinearInterp helper: crop, then F.interpolate(bilinear, align_corners=True),
whose source index i * (h - 1) / (oh - 1) in float32 and weights are the IR's formula."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import BilinearInterp, Graph

BILINEAR_INTERP = Helper("BilinearInterp", '''
class BilinearInterp(nn.Module):
    """Rows and columns [begin, size - end) resized bilinearly to `size`, corners aligned."""

    def __init__(self, size, begin, end):
        super().__init__()
        self.size, self.begin, self.end = size, begin, end

    def forward(self, x):
        h, w = x.shape[2] - self.begin - self.end, x.shape[3] - self.begin - self.end
        x = x[:, :, self.begin : self.begin + h, self.begin : self.begin + w]
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=True)
''')


@converts(BilinearInterp)
def bilinear_interp(node: BilinearInterp, graph: Graph) -> Built:
    return Built(f"BilinearInterp({tuple(node.size)}, {node.crop_begin}, {node.crop_end})", (BILINEAR_INTERP,))
