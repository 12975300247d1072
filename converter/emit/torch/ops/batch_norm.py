"""BatchNorm -> the BatchNorm helper: F.batch_norm with the stored statistics and no affine part."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import BatchNorm, Graph

BATCH_NORM = Helper("BatchNorm", '''
class BatchNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) over channel dim 1, no affine part."""

    def __init__(self, channels, eps):
        super().__init__()
        self.eps = eps
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("var", torch.ones(channels))

    def forward(self, x):
        return F.batch_norm(x, self.mean, self.var, None, None, False, 0.0, self.eps)
''')


@converts(BatchNorm)
def batch_norm(node: BatchNorm, graph: Graph) -> Built:
    return Built(f"BatchNorm({node.mean.size}, {node.eps!r})", (BATCH_NORM,), {"mean": node.mean, "var": node.var})
