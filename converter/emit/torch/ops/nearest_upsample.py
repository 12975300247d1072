"""NearestUpsample -> the NearestUpsample helper: each row and column repeated `scale` times."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, NearestUpsample

NEAREST_UPSAMPLE = Helper("NearestUpsample", '''
class NearestUpsample(nn.Module):
    """y[..., i, j] = x[..., i // sh, j // sw]."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x.repeat_interleave(self.scale[0], dim=2).repeat_interleave(self.scale[1], dim=3)
''')


@converts(NearestUpsample)
def nearest_upsample(node: NearestUpsample, graph: Graph) -> Built:
    return Built(f"NearestUpsample({tuple(node.scale)})", (NEAREST_UPSAMPLE,))
