"""BatchNorm -> the BatchNorm helper: (x - mean) / sqrt(var + eps) with the stored statistics, in
that order (F.batch_norm multiplies by 1 / sqrt(var + eps) and adds -mean / sqrt(var + eps) instead,
NaN rather than +-inf when var + eps is 0 and mean is 0)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
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
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.reshape(shape)) / torch.sqrt(self.var.reshape(shape) + self.eps)
''')


@converts(BatchNorm)
def batch_norm(node: BatchNorm, graph: Graph) -> Built:
    return Built(f"BatchNorm({node.mean.size}, {number(node.eps)})", (BATCH_NORM,),
                 {"mean": node.mean, "var": node.var})
