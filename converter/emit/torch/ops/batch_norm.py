"""BatchNorm -> the BatchNorm helper: (x - mean) / sqrt(var + eps) with the stored statistics, in
that order (F.batch_norm multiplies by 1 / sqrt(var + eps) and adds -mean / sqrt(var + eps) instead,
NaN rather than +-inf when var + eps is 0 and mean is 0). With batch statistics the
BatchStatisticsNorm helper, the same steps with the input's own mean and biased variance; it holds
no state."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import BatchNorm, Graph

BATCH_NORM = Helper("BatchNorm", '''
class BatchNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) over channel dim 1 (a 1-D input is one channel), no affine part."""

    def __init__(self, channels, eps):
        super().__init__()
        self.eps = eps
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("var", torch.ones(channels))

    def forward(self, x):
        shape = [1, -1] + [1] * (x.dim() - 2) if x.dim() > 1 else [-1]
        return (x - self.mean.reshape(shape)) / torch.sqrt(self.var.reshape(shape) + self.eps)
''')

BATCH_STATISTICS_NORM = Helper("BatchStatisticsNorm", '''
class BatchStatisticsNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) over channel dim 1 with the batch's own statistics: per channel,
    the mean and the biased variance over the batch and every spatial position. No affine part."""

    def __init__(self, eps):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        dims = [0, *range(2, x.dim())]
        centred = x - x.mean(dim=dims, keepdim=True)
        var = (centred * centred).mean(dim=dims, keepdim=True)
        return centred / torch.sqrt(var + self.eps)
''')


@converts(BatchNorm)
def batch_norm(node: BatchNorm, graph: Graph) -> Built:
    if node.batch_statistics or node.mean is None or node.var is None:
        return Built(f"BatchStatisticsNorm({number(node.eps)})", (BATCH_STATISTICS_NORM,))
    return Built(f"BatchNorm({node.mean.size}, {number(node.eps)})", (BATCH_NORM,),
                 {"mean": node.mean, "var": node.var})
