"""BatchMomentNorm -> the BatchMomentNorm helper: the batch's own raw moments per channel, then the
per-channel factor and addend (buffers `weight`, `bias`), in the IR's order."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import BatchMomentNorm, Graph

BATCH_MOMENT_NORM = Helper("BatchMomentNorm", '''
class BatchMomentNorm(nn.Module):
    """Per channel (dim 1), over the batch and every spatial position: m1 = E[x], var = E[x^2] - m1^2;
    then (x - m1) / sqrt(var + eps) * weight + bias."""

    def __init__(self, channels, eps):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))

    def forward(self, x):
        dims = [0, *range(2, x.dim())]
        m1 = x.mean(dim=dims, keepdim=True)
        var = (x * x).mean(dim=dims, keepdim=True) - m1 * m1
        shape = [1, -1] + [1] * (x.dim() - 2)
        normalised = (x - m1) / torch.sqrt(var + self.eps)
        return normalised * self.weight.reshape(shape) + self.bias.reshape(shape)
''')


@converts(BatchMomentNorm)
def batch_moment_norm(node: BatchMomentNorm, graph: Graph) -> Built:
    return Built(f"BatchMomentNorm({node.gamma.size}, {number(node.eps)})", (BATCH_MOMENT_NORM,),
                 {"weight": node.gamma, "bias": node.beta})
