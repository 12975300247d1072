"""Normalize -> the L2Normalize helper: x^2 summed over dims 1.. (across space) or dim 1, + eps,
sqrt; across space x * (1 / norm), else x / norm; then times the scale (one value, or per channel)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Normalize

L2_NORMALIZE = Helper("L2Normalize", '''
class L2Normalize(nn.Module):
    """SSD's Normalize: x / sqrt(sum of x^2 + eps) over dims 1.. or over channels, times a scale."""

    def __init__(self, scale_shape, across_spatial, eps):
        super().__init__()
        self.across_spatial, self.eps = across_spatial, eps
        self.scale = nn.Parameter(torch.ones(scale_shape))

    def forward(self, x):
        if self.across_spatial:
            norm = torch.sqrt((x * x).sum(dim=list(range(1, x.dim())), keepdim=True) + self.eps)
            y = x * (1 / norm)
        else:
            y = x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + self.eps)
        if self.scale.dim() == 0:
            return y * self.scale
        return y * self.scale.reshape([-1] + [1] * (x.dim() - 2))
''')


@converts(Normalize)
def normalize(node: Normalize, graph: Graph) -> Built:
    return Built(f"L2Normalize({tuple(node.scale.shape)}, {node.across_spatial}, {number(node.eps)})",
                 (L2_NORMALIZE,), {"scale": node.scale})
